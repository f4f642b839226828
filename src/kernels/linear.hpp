#pragma once

#include <omp.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "kernels/onednn.hpp"
#include "kernels/types.hpp"
#include "lat/precision.hpp"
#include "lat/settings.hpp"

namespace lat::kernels {

// y = epilogue(x W^T + b), one oneDNN matmul at the layer's precision. The weights are prepared
// once, at load, in the blocked layout oneDNN's kernels prefer (that layout does not depend on
// the row count):
// - fp32: as given; bias and epilogue fused into the product.
// - bf16: rounded to bf16 (exact for weights stored as bf16); x is bf16, y fp32 or bf16; bias and
//   epilogue fused; fp32 accumulation.
// - int8: symmetric int8 with one scale per output channel, no calibration data; x is uint8
//   codes, quantized at run time row by row with each row's largest magnitudes kept exactly
//   (RowCode, Loops::convert); int32 accumulation, a block of rows at a time, then zero points,
//   outliers, scales, bias and epilogue in one pass that writes y as fp32, bf16 or uint8
//   (Loops::dequantize). Where the rows go round the threads, each thread multiplies and
//   finishes blocks of its own, with no barrier between the two.
// Each call makes the primitive for its row count, which oneDNN's primitive cache turns into a
// lookup after the first time (a fixed-size kernel is faster than one for any row count).
// Calls are safe from many threads at once.
class Linear {
 public:
  // weight: [out, in] row-major, as PyTorch stores nn.Linear. int8 with `fixed_input`: its input
  // rows are written under that code (int8-static; Rows::fixed), and the weights of input column
  // j are multiplied by its smooth[j] before they are quantized; else each row has its own code.
  Linear(std::span<const float> weight, std::span<const float> bias, int in, int out,
         Precision precision = Precision::kFp32, Epilogue epilogue = Epilogue::kNone,
         const ActivationRange* fixed_input = nullptr);

  // x: rows x in, of input_type(); y: rows x out.
  void operator()(const Rows& x, std::int64_t rows, const Rows& y) const;

  int in() const { return in_; }
  int out() const { return out_; }
  DType input_type() const;
  // The code every input row is written under (int8-static), or null.
  const FixedCode* fixed_input() const { return fixed_input_ ? &*fixed_input_ : nullptr; }
  // Per input column, the largest magnitude of its weights, at fp32 (int8-static's calibration
  // reads it); empty at other precisions.
  const std::vector<float>& input_weight_max() const { return input_weight_max_; }

 private:
  dnnl::matmul::primitive_desc describe(std::int64_t rows, std::int64_t ld_x, DType y_type,
                                        std::int64_t ld_y) const;
  // The product of that shape, ready: describing one costs more than a small product runs, and a
  // pass calls the same few shapes again and again.
  onednn::Product product(std::int64_t rows, std::int64_t ld_x, DType y_type,
                          std::int64_t ld_y) const;

  struct Products;  // the products of the shapes called lately, shared by the calling threads
  std::shared_ptr<Products> products_;
  int in_, out_;
  Precision precision_;
  Epilogue epilogue_;
  std::optional<FixedCode> fixed_input_;
  std::vector<float> input_weight_max_;
  dnnl::memory weights_, bias_;
  // int8: per output channel, applied after the product.
  std::vector<float> scales_, bias_values_;
  std::vector<std::int32_t> sums_;     // of each output channel's int8 weights
  std::vector<std::int8_t> by_input_;  // the int8 weights again, [in][out], for the outliers
};

// Where a call's rows are enough to go round the OpenMP team (outside a parallel region, at least
// 32 rows a thread), each thread can take a share of them through a chain of products and the
// loops between them, with no barrier: RowShare(rows, threads, t) is thread t's. The shares
// differ by fewer than 32 rows, and all but the last hold a multiple of 16 rows, so that the
// products' blocks are of even counts.
bool rows_go_round(std::int64_t rows);
struct RowShare {
  std::int64_t first, count;
  RowShare(std::int64_t rows, std::int64_t threads, std::int64_t t);
};
// piece(first, count) on each thread's share of `rows`, in one parallel region. What a thread
// throws is thrown again after the region, where an exception leaving it would end the process.
template <typename Piece>
void in_shares(std::int64_t rows, Piece piece) {
  std::exception_ptr failed;
#pragma omp parallel
  {
    try {
      const RowShare share(rows, omp_get_num_threads(), omp_get_thread_num());
      piece(share.first, share.count);
    } catch (...) {
#pragma omp critical(lat_in_shares)
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
}

// fp32 rows (ld apart) into out's type (Loops::convert): how activations become a product's input.
void convert(const float* x, std::int64_t rows, int cols, std::int64_t ld, const Rows& out);

// The widest int8 product whose int32 sums cannot overflow: 255 x 127 x 65536 < 2^31.
constexpr int kInt8Depth = 65536;

}  // namespace lat::kernels
