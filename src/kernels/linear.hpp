#pragma once

#include <cstdint>
#include <dnnl.hpp>
#include <vector>

namespace lat::kernels {

enum class Epilogue { kNone, kGeluErf, kGeluTanh, kRelu, kTanh };

// y = epilogue(x W^T + b) as one oneDNN matmul. The weights are reordered once, at load, into
// the blocked layout oneDNN's kernels prefer; that layout does not depend on the row count.
// Each call makes the primitive for its row count, which oneDNN's primitive cache turns into a
// lookup after the first time (a fixed-size kernel is faster than one for any row count).
// Calls are safe from many threads at once.
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
  dnnl::matmul::primitive_desc describe(std::int64_t rows) const;

  int in_, out_;
  dnnl::primitive_attr attr_;
  dnnl::memory weights_, bias_;
};

const dnnl::engine& cpu_engine();

}  // namespace lat::kernels
