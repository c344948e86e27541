#include <jni.h>
#include <android/log.h>

#include <memory>
#include <string>
#include <vector>

#include <torch/script.h>

#define LOG_TAG "NativeClassifier"
#define ALOGE(...) __android_log_print(ANDROID_LOG_ERROR, LOG_TAG, __VA_ARGS__)

namespace {

// Loaded once with torch::jit::load and reused for every call.
std::unique_ptr<torch::jit::script::Module> g_module;

constexpr int64_t kChannels = 3;
constexpr int64_t kSize = 224;

}  // namespace

extern "C" JNIEXPORT jboolean JNICALL
Java_org_pytorch_demo_classifier_NativeClassifier_loadModel(JNIEnv* env, jclass, jstring jpath) {
  const char* path = env->GetStringUTFChars(jpath, nullptr);
  bool ok = true;
  try {
    c10::InferenceMode guard;
    g_module = std::make_unique<torch::jit::script::Module>(torch::jit::load(path));
    g_module->eval();
  } catch (const c10::Error& e) {
    ALOGE("Error loading model: %s", e.what());
    ok = false;
  }
  env->ReleaseStringUTFChars(jpath, path);
  return ok ? JNI_TRUE : JNI_FALSE;
}

extern "C" JNIEXPORT jfloatArray JNICALL
Java_org_pytorch_demo_classifier_NativeClassifier_classify(JNIEnv* env, jclass, jfloatArray jinput) {
  if (!g_module) {
    return nullptr;
  }
  jsize length = env->GetArrayLength(jinput);
  if (length != kChannels * kSize * kSize) {
    ALOGE("Unexpected input length %d", static_cast<int>(length));
    return nullptr;
  }

  std::vector<float> data(length);
  env->GetFloatArrayRegion(jinput, 0, length, data.data());

  c10::InferenceMode guard;
  at::Tensor input = torch::from_blob(data.data(), {1, kChannels, kSize, kSize}, at::kFloat);
  at::Tensor output = g_module->forward({input}).toTensor().contiguous();

  const auto numel = static_cast<jsize>(output.numel());
  jfloatArray result = env->NewFloatArray(numel);
  env->SetFloatArrayRegion(result, 0, numel, output.data_ptr<float>());
  return result;
}
