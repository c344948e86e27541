// Classifies one fixed image with a TorchScript model, in the style of PyTorch's
// "Loading a TorchScript Model in C++" tutorial. Usage: classifier <model.pt>
#include <torch/script.h>

#include <iomanip>
#include <iostream>
#include <memory>
#include <vector>

int main(int argc, const char* argv[]) {
  if (argc != 2) {
    std::cerr << "usage: classifier <path-to-exported-script-module>\n";
    return -1;
  }

  torch::jit::script::Module module;
  try {
    // Deserialize the ScriptModule from a file using torch::jit::load().
    module = torch::jit::load(argv[1]);
  } catch (const c10::Error& e) {
    std::cerr << "error loading the model: " << e.what() << "\n";
    return -1;
  }
  module.eval();

  // The same image every run: pixel i is (i % 255) / 255.
  std::vector<float> pixels(3 * 224 * 224);
  for (size_t i = 0; i < pixels.size(); ++i) {
    pixels[i] = static_cast<float>(i % 255) / 255.0f;
  }

  torch::NoGradGuard no_grad;
  std::vector<torch::jit::IValue> inputs;
  inputs.push_back(torch::from_blob(pixels.data(), {1, 3, 224, 224}, torch::kFloat));

  // Execute the model and turn its output into a tensor.
  at::Tensor output = module.forward(inputs).toTensor();
  const float* scores = output.data_ptr<float>();

  int64_t best = 0;
  std::cout << std::fixed << std::setprecision(6);
  for (int64_t i = 0; i < output.size(1); ++i) {
    std::cout << "score " << i << " " << scores[i] << "\n";
    if (scores[i] > scores[best]) {
      best = i;
    }
  }
  std::cout << "class " << best << "\n";
  return 0;
}
