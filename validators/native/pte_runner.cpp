// A .pte on ExecuTorch's C++ runtime (libexecutorch, the optimized and quantized kernels, the
// XNNPACK backend): what an app links. Any method; tensor, int, float and bool inputs/outputs.
#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include "protocol.h"

// libexecutorch_threadpool.so exports these (nm -DC, executorch 1.5.1 wheel); the wheel ships no
// header for them. Signatures as in ExecuTorch's extension/threadpool/threadpool.h:
// `ThreadPool* get_threadpool();`, `bool ThreadPool::_unsafe_reset_threadpool(uint32_t)`.
namespace executorch::extension::threadpool {
class ThreadPool {
 public:
  bool _unsafe_reset_threadpool(uint32_t num_threads);
};
ThreadPool* get_threadpool();
}  // namespace executorch::extension::threadpool

using executorch::aten::ScalarType;
using executorch::extension::Module;
using executorch::runtime::Error;
using executorch::runtime::EValue;
using executorch::runtime::Tag;

namespace {

const std::map<ScalarType, std::string>& dtypes() {
  static const std::map<ScalarType, std::string> names = {
      {ScalarType::Byte, "uint8"},   {ScalarType::Char, "int8"},     {ScalarType::Short, "int16"},
      {ScalarType::Int, "int32"},    {ScalarType::Long, "int64"},    {ScalarType::Half, "float16"},
      {ScalarType::Float, "float32"}, {ScalarType::Double, "float64"}, {ScalarType::Bool, "bool"}};
  return names;
}

std::string dtype_name(ScalarType type) {
  auto found = dtypes().find(type);
  if (found == dtypes().end())
    throw std::runtime_error("a tensor of ScalarType " + std::to_string(int(type)) + ", which .npy cannot hold");
  return found->second;
}

ScalarType scalar_type(const std::string& dtype) {
  for (auto& [type, name] : dtypes())
    if (name == dtype) return type;
  throw std::runtime_error("unsupported dtype " + dtype);
}

void check(Error error, const std::string& what) {
  if (error != Error::Ok)
    throw std::runtime_error(what + ": " + executorch::runtime::to_string(error) + " (ExecuTorch error " +
                             std::to_string(int(error)) + ")");
}

template <typename T>
T scalar(const native::Array& array) {
  if (array.data.size() != native::itemsize(array.dtype)) throw std::runtime_error("a scalar input given as an array");
  if (array.dtype == "float64") return T(*reinterpret_cast<const double*>(array.data.data()));
  if (array.dtype == "float32") return T(*reinterpret_cast<const float*>(array.data.data()));
  if (array.dtype == "int64") return T(*reinterpret_cast<const int64_t*>(array.data.data()));
  if (array.dtype == "int32") return T(*reinterpret_cast<const int32_t*>(array.data.data()));
  if (array.dtype == "bool" || array.dtype == "uint8" || array.dtype == "int8") return T(array.data[0]);
  throw std::runtime_error("a scalar input of dtype " + array.dtype);
}

class PteRunner : public native::Runner {
 public:
  std::vector<native::Spec> load(const std::string& artifact, int threads, const std::string& method,
                                 const std::string&) override {
    executorch::extension::threadpool::get_threadpool()->_unsafe_reset_threadpool(threads);  // XNNPACK's
    module_ = std::make_unique<Module>(artifact, Module::LoadMode::Mmap);
    check(module_->load(), "loading " + artifact);
    auto names = module_->method_names();
    check(names.error(), "reading the method names");
    if (!names->count(method)) {
      std::vector<std::string> sorted(names->begin(), names->end());
      std::sort(sorted.begin(), sorted.end());
      std::string list;
      for (auto& name : sorted) list += (list.empty() ? "" : ", ") + name;
      throw std::runtime_error("the program has no method '" + method + "' (it has " + list + ")");
    }
    method_ = method;
    check(module_->load_method(method), "loading method " + method);
    auto meta = module_->method_meta(method);
    check(meta.error(), "reading method " + method);
    std::vector<native::Spec> specs;
    tags_.clear();
    for (size_t i = 0; i < meta->num_inputs(); i++) {
      auto tag = meta->input_tag(i);
      check(tag.error(), "reading input " + std::to_string(i));
      tags_.push_back(*tag);
      native::Spec spec{"input_" + std::to_string(i), {}, "float32"};
      if (*tag == Tag::Tensor) {
        auto tensor = meta->input_tensor_meta(i);
        check(tensor.error(), "reading input " + std::to_string(i));
        for (auto size : tensor->sizes()) spec.shape.push_back(size);
        spec.dtype = dtype_name(tensor->scalar_type());
      } else {
        spec.dtype = *tag == Tag::Int ? "int64" : *tag == Tag::Bool ? "bool" : "float64";
      }
      specs.push_back(spec);
    }
    return specs;
  }

  void prepare(const std::vector<native::Array>& inputs) override {
    if (inputs.size() != tags_.size())
      throw std::runtime_error(std::to_string(inputs.size()) + " inputs given, the method takes " +
                               std::to_string(tags_.size()));
    held_ = inputs;
    tensors_.clear();
    values_.clear();
    for (size_t i = 0; i < held_.size(); i++) {
      auto& array = held_[i];
      if (tags_[i] == Tag::Tensor) {
        std::vector<executorch::aten::SizesType> sizes(array.shape.begin(), array.shape.end());
        tensors_.push_back(executorch::extension::from_blob(array.data.data(), sizes, scalar_type(array.dtype)));
        values_.emplace_back(*tensors_.back());
      } else if (tags_[i] == Tag::Int) {
        values_.emplace_back(scalar<int64_t>(array));
      } else if (tags_[i] == Tag::Bool) {
        values_.emplace_back(scalar<bool>(array));
      } else {
        values_.emplace_back(scalar<double>(array));
      }
    }
  }

  void call() override {  // inputs set and the method run, as the Python runner's call
    auto outputs = module_->execute(method_, values_);
    check(outputs.error(), "running " + method_);
    last_ = std::move(*outputs);
  }

  std::vector<native::Array> outputs() override {
    std::vector<native::Array> arrays;
    for (size_t i = 0; i < last_.size(); i++) {
      const EValue& value = last_[i];
      native::Array array;
      if (value.isTensor()) {
        const auto& tensor = value.toTensor();
        array.dtype = dtype_name(tensor.scalar_type());
        for (auto size : tensor.sizes()) array.shape.push_back(size);
        const uint8_t* data = static_cast<const uint8_t*>(tensor.const_data_ptr());
        array.data.assign(data, data + tensor.nbytes());
      } else if (value.isInt()) {
        array.dtype = "int64";
        int64_t v = value.toInt();
        array.data.assign(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 8);
      } else if (value.isDouble()) {
        array.dtype = "float64";
        double v = value.toDouble();
        array.data.assign(reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 8);
      } else if (value.isBool()) {
        array.dtype = "bool";
        array.data.assign(1, value.toBool() ? 1 : 0);
      } else {
        throw std::runtime_error("output " + std::to_string(i) + " is neither a tensor nor a number");
      }
      arrays.push_back(std::move(array));
    }
    return arrays;
  }

 private:
  std::unique_ptr<Module> module_;
  std::string method_;
  std::vector<Tag> tags_;
  std::vector<native::Array> held_;
  std::vector<executorch::extension::TensorPtr> tensors_;
  std::vector<EValue> values_;
  std::vector<EValue> last_;
};

}  // namespace

int main() {
  PteRunner runner;
  return native::serve(runner);
}
