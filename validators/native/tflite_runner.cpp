// A .tflite on LiteRT's C API (libLiteRt.so: a compiled model on the CPU, XNNPACK its
// delegate), as an app links it. Inputs and outputs in the order of the Python runner
// (validators/runners/tflite.py): by the number in the tensor's name (args_0, output_1).
//
// `tflite_runner` speaks the harness's worker protocol (protocol.h). `tflite_runner --profile
// MODEL INPUTS.npz RUNS THREADS LAYOUT` instead compiles the model with LiteRT's profiler on
// (runtime options: enable_profiling), runs it RUNS times on the inputs and writes one JSON line
// per run: the call's wall time ("us", as call() runs it, the profiler on) and the profiler's
// events, each {"tag", "type" (LiteRtProfilerEventType), "us" (elapsed), "node" (metadata1: the
// node's index), "subgraph" (metadata2)}. validators/profile.py reads them.
#include <cstdlib>
#include <regex>

#include "litert_c_api.h"
#include "protocol.h"

namespace {

void check(LiteRtStatus status, const std::string& what) {
  if (status != kLiteRtStatusOk) throw std::runtime_error(what + " failed (LiteRT status " + std::to_string(status) + ")");
}

std::string dtype_name(LiteRtElementType type) {
  switch (type) {
    case kLiteRtElementTypeFloat32: return "float32";
    case kLiteRtElementTypeFloat64: return "float64";
    case kLiteRtElementTypeFloat16: return "float16";
    case kLiteRtElementTypeInt64: return "int64";
    case kLiteRtElementTypeInt32: return "int32";
    case kLiteRtElementTypeInt16: return "int16";
    case kLiteRtElementTypeInt8: return "int8";
    case kLiteRtElementTypeUInt8: return "uint8";
    case kLiteRtElementTypeBool: return "bool";
  }
  throw std::runtime_error("a tensor of LiteRT element type " + std::to_string(int(type)) + ", which .npy cannot hold");
}

std::pair<long, std::string> order(const std::string& name) {
  static const std::regex digits("\\d+");
  long last = 0;
  for (auto it = std::sregex_iterator(name.begin(), name.end(), digits); it != std::sregex_iterator(); ++it)
    last = std::stol(it->str());
  return {last, name};
}

// 4-D arrays between NCHW (what the harness speaks) and NHWC (a declared adapter for models
// converted from TensorFlow): permutation {0, 2, 3, 1} one way, {0, 3, 1, 2} the other.
native::Array permute(const native::Array& in, const int (&axes)[4]) {
  native::Array out{in.dtype, {}, std::vector<uint8_t>(in.data.size())};
  for (int a : axes) out.shape.push_back(in.shape[a]);
  size_t item = native::itemsize(in.dtype);
  int64_t stride[4] = {in.shape[1] * in.shape[2] * in.shape[3], in.shape[2] * in.shape[3], in.shape[3], 1};
  size_t o = 0;
  for (int64_t i = 0; i < out.shape[0]; i++)
    for (int64_t j = 0; j < out.shape[1]; j++)
      for (int64_t k = 0; k < out.shape[2]; k++)
        for (int64_t l = 0; l < out.shape[3]; l++, o += item) {
          int64_t source = i * stride[axes[0]] + j * stride[axes[1]] + k * stride[axes[2]] + l * stride[axes[3]];
          std::memcpy(&out.data[o], &in.data[size_t(source) * item], item);
        }
  return out;
}

// What the Python runner's np.ascontiguousarray(value, dtype=...) does: token ids given as
// int64 to a model converted with int32 inputs, and the like (long double holds every int64).
long double value_at(const native::Array& a, size_t i) {
  const uint8_t* p = &a.data[i * native::itemsize(a.dtype)];
  auto get = [p](auto v) { std::memcpy(&v, p, sizeof v); return static_cast<long double>(v); };
  if (a.dtype == "float32") return get(float{});
  if (a.dtype == "float64") return get(double{});
  if (a.dtype == "int64") return get(int64_t{});
  if (a.dtype == "int32") return get(int32_t{});
  if (a.dtype == "int16") return get(int16_t{});
  if (a.dtype == "int8") return get(int8_t{});
  if (a.dtype == "uint8") return get(uint8_t{});
  if (a.dtype == "bool") return get(uint8_t{}) != 0;
  throw std::runtime_error("cannot convert an input of " + a.dtype);
}

void set_at(native::Array& a, size_t i, long double v) {
  uint8_t* p = &a.data[i * native::itemsize(a.dtype)];
  auto put = [p, v](auto type) { auto x = static_cast<decltype(type)>(v); std::memcpy(p, &x, sizeof x); };
  if (a.dtype == "float32") return put(float{});
  if (a.dtype == "float64") return put(double{});
  if (a.dtype == "int64") return put(int64_t{});
  if (a.dtype == "int32") return put(int32_t{});
  if (a.dtype == "int16") return put(int16_t{});
  if (a.dtype == "int8") return put(int8_t{});
  if (a.dtype == "uint8") return put(uint8_t{});
  if (a.dtype == "bool") return put(uint8_t(v != 0));
  throw std::runtime_error("cannot convert an input to " + a.dtype);
}

native::Array cast(native::Array in, const std::string& dtype) {
  if (in.dtype == dtype) return in;
  size_t n = in.data.size() / native::itemsize(in.dtype);
  native::Array out{dtype, in.shape, std::vector<uint8_t>(n * native::itemsize(dtype))};
  for (size_t i = 0; i < n; i++) set_at(out, i, value_at(in, i));
  return out;
}

constexpr int kToNhwc[4] = {0, 2, 3, 1};
constexpr int kToNchw[4] = {0, 3, 1, 2};

struct Port {
  std::string name;
  LiteRtRankedTensorType type;
  LiteRtTensorBuffer buffer = nullptr;
  size_t bytes = 0;
};

class TfliteRunner : public native::Runner {
 public:
  ~TfliteRunner() override {
    for (auto* ports : {&inputs_, &outputs_})
      for (auto& port : *ports) LiteRtDestroyTensorBuffer(port.buffer);
    if (compiled_) LiteRtDestroyCompiledModel(compiled_);
    if (model_) LiteRtDestroyModel(model_);
    if (environment_) LiteRtDestroyEnvironment(environment_);
  }

  std::vector<native::Spec> load(const std::string& artifact, int threads, const std::string&,
                                 const std::string& layout) override {
    nhwc_ = layout == "nhwc";
    check(LiteRtCreateEnvironment(0, nullptr, &environment_), "creating the LiteRT environment");
    check(LiteRtCreateModelFromFile(environment_, artifact.c_str(), &model_), "loading " + artifact);
    LiteRtParamIndex signatures = 0;
    check(LiteRtGetNumModelSignatures(model_, &signatures), "reading the signatures");
    if (signatures == 0) throw std::runtime_error("the model has no signature");
    LiteRtSignature signature;
    check(LiteRtGetModelSignature(model_, 0, &signature), "reading signature 0");

    LiteRtOptions options;
    check(LiteRtCreateOptions(&options), "creating options");
    check(LiteRtSetOptionsHardwareAccelerators(options, kLiteRtHwAcceleratorCpu), "choosing the CPU");
    std::string toml = "num_threads = " + std::to_string(threads) + "\n";
    char* payload = static_cast<char*>(std::malloc(toml.size() + 1));
    std::memcpy(payload, toml.c_str(), toml.size() + 1);
    LiteRtOpaqueOptions cpu;
    check(LiteRtCreateOpaqueOptions("xnnpack", payload, std::free, &cpu), "creating the CPU options");
    check(LiteRtAddOpaqueOptions(options, cpu), "adding the CPU options");
    if (profiling) {  // litert/c/options/litert_runtime_options.cc's payload
      static const char runtime_toml[] = "enable_profiling = true\n";
      char* text = static_cast<char*>(std::malloc(sizeof runtime_toml));
      std::memcpy(text, runtime_toml, sizeof runtime_toml);
      LiteRtOpaqueOptions runtime;
      check(LiteRtCreateOpaqueOptions("runtime_options_string", text, std::free, &runtime), "creating the runtime options");
      check(LiteRtAddOpaqueOptions(options, runtime), "adding the runtime options");
    }
    LiteRtStatus compiled = LiteRtCreateCompiledModel(environment_, model_, options, &compiled_);
    LiteRtDestroyOptions(options);
    check(compiled, "compiling the model for the CPU");

    ports(signature, true);
    ports(signature, false);
    std::vector<native::Spec> specs;
    for (auto& port : inputs_) {
      native::Spec spec{port.name, {}, dtype_name(port.type.element_type)};
      for (unsigned d = 0; d < port.type.layout.rank; d++) spec.shape.push_back(port.type.layout.dimensions[d]);
      if (nhwc_ && spec.shape.size() == 4) spec.shape = {spec.shape[0], spec.shape[3], spec.shape[1], spec.shape[2]};
      specs.push_back(spec);
    }
    return specs;
  }

  void prepare(const std::vector<native::Array>& inputs) override {
    if (inputs.size() != inputs_.size())
      throw std::runtime_error(std::to_string(inputs.size()) + " inputs given, the model takes " +
                               std::to_string(inputs_.size()));
    staged_.clear();
    for (size_t i = 0; i < inputs.size(); i++) {
      native::Array value = cast(nhwc_ && inputs[i].shape.size() == 4 ? permute(inputs[i], kToNhwc) : inputs[i],
                                 dtype_name(inputs_[i].type.element_type));
      if (value.data.size() != inputs_[i].bytes)
        throw std::runtime_error("input " + inputs_[i].name + " takes " + std::to_string(inputs_[i].bytes) +
                                 " bytes, given " + std::to_string(value.data.size()));
      staged_.push_back(std::move(value));
    }
  }

  void call() override {  // the inputs copied in and the model run, as the Python runner's call
    for (size_t i = 0; i < inputs_.size(); i++) {
      void* address = nullptr;
      check(LiteRtLockTensorBuffer(inputs_[i].buffer, &address, kLiteRtTensorBufferLockModeWrite), "writing an input");
      std::memcpy(address, staged_[i].data.data(), inputs_[i].bytes);
      check(LiteRtUnlockTensorBuffer(inputs_[i].buffer), "writing an input");
    }
    check(LiteRtRunCompiledModel(compiled_, 0, input_buffers_.size(), input_buffers_.data(), output_buffers_.size(),
                                 output_buffers_.data()),
          "running the model");
  }

  // One run's events: the profiler started (which clears it) before the call, stopped after.
  std::vector<ProfiledEventData> profiled_call(double& seconds) {
    LiteRtProfiler profiler = nullptr;
    check(LiteRtCompiledModelGetProfiler(compiled_, &profiler), "getting the profiler");
    if (profiler == nullptr) throw std::runtime_error("the compiled model has no profiler");
    check(LiteRtStartProfiler(profiler), "starting the profiler");
    auto started = std::chrono::steady_clock::now();
    call();
    seconds = native::seconds_since(started);
    check(LiteRtStopProfiler(profiler), "stopping the profiler");
    int n = 0;
    check(LiteRtGetNumProfilerEvents(profiler, &n), "counting the profiler's events");
    std::vector<ProfiledEventData> events(size_t(std::max(n, 0)));
    if (n > 0) check(LiteRtGetProfilerEvents(profiler, n, events.data()), "reading the profiler's events");
    return events;
  }

  std::vector<native::Array> outputs() override {
    std::vector<native::Array> arrays;
    for (auto& port : outputs_) {
      native::Array array{dtype_name(port.type.element_type), {}, std::vector<uint8_t>(port.bytes)};
      for (unsigned d = 0; d < port.type.layout.rank; d++) array.shape.push_back(port.type.layout.dimensions[d]);
      void* address = nullptr;
      check(LiteRtLockTensorBuffer(port.buffer, &address, kLiteRtTensorBufferLockModeRead), "reading an output");
      std::memcpy(array.data.data(), address, port.bytes);
      check(LiteRtUnlockTensorBuffer(port.buffer), "reading an output");
      arrays.push_back(nhwc_ && array.shape.size() == 4 ? permute(array, kToNchw) : array);
    }
    return arrays;
  }

 private:
  void ports(LiteRtSignature signature, bool input) {
    LiteRtParamIndex n = 0;
    check(input ? LiteRtGetNumSignatureInputs(signature, &n) : LiteRtGetNumSignatureOutputs(signature, &n),
          "reading the signature");
    std::vector<std::pair<std::pair<long, std::string>, LiteRtParamIndex>> sorted;
    for (LiteRtParamIndex i = 0; i < n; i++) {
      const char* name = nullptr;
      check(input ? LiteRtGetSignatureInputName(signature, i, &name) : LiteRtGetSignatureOutputName(signature, i, &name),
            "reading a tensor name");
      sorted.push_back({order(name), i});
    }
    std::sort(sorted.begin(), sorted.end());
    auto& list = input ? inputs_ : outputs_;
    auto& buffers = input ? input_buffers_ : output_buffers_;
    buffers.resize(n);
    for (auto& [key, i] : sorted) {
      Port port;
      port.name = key.second;
      LiteRtTensor tensor;
      check(input ? LiteRtGetSignatureInputTensorByIndex(signature, i, &tensor)
                  : LiteRtGetSignatureOutputTensorByIndex(signature, i, &tensor),
            "reading tensor " + port.name);
      LiteRtTensorTypeId id;
      check(LiteRtGetTensorTypeId(tensor, &id), "reading tensor " + port.name);
      if (id != kLiteRtRankedTensorType) throw std::runtime_error("tensor " + port.name + " has no fixed rank");
      check(LiteRtGetRankedTensorType(tensor, &port.type), "reading tensor " + port.name);
      int64_t elements = 1;
      for (unsigned d = 0; d < port.type.layout.rank; d++) {
        if (port.type.layout.dimensions[d] < 0) throw std::runtime_error("tensor " + port.name + " has a dynamic dimension");
        elements *= port.type.layout.dimensions[d];
      }
      port.bytes = size_t(elements) * native::itemsize(dtype_name(port.type.element_type));
      LiteRtTensorBufferRequirements requirements;
      check(input ? LiteRtGetCompiledModelInputBufferRequirements(compiled_, 0, i, &requirements)
                  : LiteRtGetCompiledModelOutputBufferRequirements(compiled_, 0, i, &requirements),
            "reading the buffer requirements of " + port.name);
      check(LiteRtCreateManagedTensorBufferFromRequirements(environment_, &port.type, requirements, &port.buffer),
            "creating the buffer of " + port.name);
      list.push_back(port);
      buffers[i] = port.buffer;
    }
  }

  bool nhwc_ = false;

 public:
  bool profiling = false;  // set before load: compile with LiteRT's profiler

 private:
  LiteRtEnvironment environment_ = nullptr;
  LiteRtModel model_ = nullptr;
  LiteRtCompiledModel compiled_ = nullptr;
  std::vector<Port> inputs_, outputs_;
  // buffers in signature index order, as LiteRtRunCompiledModel takes them
  std::vector<LiteRtTensorBuffer> input_buffers_, output_buffers_;
  std::vector<native::Array> staged_;
};

}  // namespace

int profile(TfliteRunner& runner, char** argv) {
  int replies_fd = dup(1);
  dup2(2, 1);  // what the runtime prints goes to stderr, not into the events
  FILE* replies = fdopen(replies_fd, "w");
  try {
    runner.profiling = true;
    runner.load(argv[2], std::stoi(argv[5]), "forward", argv[6]);
    runner.prepare(native::read_npz(argv[3]));
    for (int r = 0, runs = std::stoi(argv[4]); r < runs; r++) {
      double seconds = 0;
      std::vector<ProfiledEventData> events = runner.profiled_call(seconds);
      std::string line = "{\"us\": " + native::number(seconds * 1e6) + ", \"events\": [";
      for (size_t e = 0; e < events.size(); e++)
        line += std::string(e ? ", " : "") + "{\"tag\": " + native::quote(events[e].tag ? events[e].tag : "") +
                ", \"type\": " + std::to_string(int(events[e].event_type)) +
                ", \"us\": " + std::to_string(events[e].elapsed_time_us) +
                ", \"node\": " + std::to_string(int64_t(events[e].event_metadata1)) +
                ", \"subgraph\": " + std::to_string(int64_t(events[e].event_metadata2)) + "}";
      std::fputs((line + "]}\n").c_str(), replies);
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tflite_runner: %s\n", error.what());  // the line validators/profile.py reports
    return 1;
  }
  std::fflush(replies);
  return 0;
}

int main(int argc, char** argv) {
  TfliteRunner runner;
  if (argc == 7 && std::string(argv[1]) == "--profile") return profile(runner, argv);
  if (argc != 1) {
    std::fprintf(stderr, "usage: %s (the worker protocol on stdin)\n       %s --profile MODEL INPUTS.npz RUNS THREADS LAYOUT\n", argv[0], argv[0]);
    return 2;
  }
  return native::serve(runner);
}
