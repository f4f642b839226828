#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <vector>

namespace lat::kernels {

enum class Epilogue { kNone, kGeluErf, kGeluTanh, kRelu, kTanh };

// y = epilogue(x W^T + b) for any number of rows, as one oneDNN matmul. The primitive is made
// once, with the weights reordered into the layout it prefers; calls are safe from many threads.
class Linear {
 public:
  // weight: [out, in] row-major, as PyTorch stores nn.Linear.
  Linear(const std::vector<float>& weight, const std::vector<float>& bias, int in, int out,
         Epilogue epilogue = Epilogue::kNone);

  // x: rows x in, y: rows x out, both row-major and dense.
  void operator()(const float* x, std::int64_t rows, float* y) const;

  int in() const { return in_; }
  int out() const { return out_; }

 private:
  int in_, out_;
  dnnl::matmul matmul_;
  dnnl::memory weights_, bias_;
  dnnl::memory::desc scratchpad_;
};

const dnnl::engine& cpu_engine();

}  // namespace lat::kernels
