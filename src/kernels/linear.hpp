#pragma once

#include <cstdint>
#include <span>

#include "kernels/onednn.hpp"
#include "kernels/types.hpp"

namespace lat::kernels {

// y = epilogue(x W^T + b) as one oneDNN matmul, bias and epilogue fused into it. The weights are
// reordered once, at load, into the blocked layout oneDNN's kernels prefer; that layout does not
// depend on the row count. Each call makes the primitive for its row count, which oneDNN's
// primitive cache turns into a lookup after the first time (a fixed-size kernel is faster than
// one for any row count). Calls are safe from many threads at once.
class Linear {
 public:
  // weight: [out, in] row-major, as PyTorch stores nn.Linear.
  Linear(std::span<const float> weight, std::span<const float> bias, int in, int out,
         Epilogue epilogue = Epilogue::kNone);

  // x: rows x in, y: rows x out, fp32.
  void operator()(const Rows& x, std::int64_t rows, const Rows& y) const;

  int in() const { return in_; }
  int out() const { return out_; }

 private:
  dnnl::matmul::primitive_desc describe(std::int64_t rows, std::int64_t ld_x,
                                        std::int64_t ld_y) const;

  int in_, out_;
  Epilogue epilogue_;
  dnnl::memory weights_, bias_;
};

}  // namespace lat::kernels
