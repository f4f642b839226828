#include "kernels/linear.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <mutex>

#include "kernels/cpu/loops.hpp"
#include "lat/error.hpp"

namespace lat::kernels {
namespace {

using Type = onednn::Type;
using tag = dnnl::memory::format_tag;

// Below this many rows a thread, an int8 product runs each block over all threads, and a layer's
// rows do not go round the threads (rows_go_round).
constexpr std::int64_t kRowsPerThread = 32;

// oneDNN's bf16 and int8 kernels (on a CPU with AMX, at least) multiply some row counts several
// times slower than their neighbours: 53, 57 to 62, 424, 464, 496 rows of a 384 x 1536 product, for
// instance, take 2 to 5 times as long per row as 48, 64 or 512 (bench_linear). Multiples of 64, and
// counts of 48 or fewer, run at full speed. Calls `piece(first, count)` for consecutive pieces of
// [first, first + rows) of such counts, in order: blocks of `most` rows (a multiple of 64; 0: no
// limit), then the multiple of 64 left, then the rest, as 48 and what remains beyond it where
// the rest is over 48.
template <typename Piece>
void in_even_pieces(std::int64_t first, std::int64_t rows, std::int64_t most, Piece piece) {
  const std::int64_t end = first + rows;
  for (; most > 0 && end - first >= most; first += most) piece(first, most);
  if (const std::int64_t sixty_fours = (end - first) / 64 * 64; sixty_fours > 0) {
    piece(first, sixty_fours);
    first += sixty_fours;
  }
  if (end - first > 48) {
    piece(first, 48);
    first += 48;
  }
  if (end > first) piece(first, end - first);
}

DType input_type_of(Precision p) {
  return p == Precision::kInt8 ? DType::kU8 : p == Precision::kBf16 ? DType::kBF16 : DType::kF32;
}

// The code of values in [lo, hi] by the rule each row's own code follows: 255 steps over the
// range, zero the code of 0.
FixedCode fixed_code(const ActivationRange& input, int in) {
  FixedCode f;
  RowCode& code = f.code;
  code.scale = static_cast<float>((input.hi - input.lo) / 255.0);
  code.zero =
      code.scale > 0 ? static_cast<std::int32_t>(std::nearbyint(-input.lo / code.scale)) : 0;
  code.outliers =
      static_cast<std::int32_t>(std::min<std::size_t>(input.outliers.size(), RowCode::kOutliers));
  std::copy_n(input.outliers.begin(), code.outliers, code.column);
  f.inverse.assign(static_cast<std::size_t>(in), 0.f);
  for (std::size_t j = 0; j < f.inverse.size(); ++j) {
    const float smooth = input.smooth.empty() ? 1.f : input.smooth[j];
    if (code.scale > 0 && smooth > 0) f.inverse[j] = 1.f / (smooth * code.scale);
  }
  return f;
}

// This thread's scratch of `floats` for each OpenMP thread it may run: reused from call to call,
// so the hot path allocates nothing once warm.
float* thread_scratch(std::size_t floats) {
  thread_local std::vector<float> scratch;
  const auto need = static_cast<std::size_t>(omp_get_max_threads()) * floats;
  if (scratch.size() < need) scratch.resize(need);
  return scratch.data();
}

}  // namespace

DType Linear::input_type() const { return input_type_of(precision_); }

dnnl::matmul::primitive_desc Linear::describe(std::int64_t rows, std::int64_t ld_x, DType y_type,
                                              std::int64_t ld_y) const {
  const dnnl::memory::dim M = rows, K = in_, N = out_;
  const Type weight_type =
      precision_ == Precision::kInt8 ? Type::s8 : onednn::type_of(input_type());
  // Weights "any" lets oneDNN pick its layout; after the first call the packed one is given.
  const auto weights_md =
      weights_ ? weights_.get_desc() : onednn::Desc({K, N}, weight_type, tag::any);
  const onednn::Desc src({M, K}, onednn::type_of(input_type()), onednn::Dims{ld_x, 1});
  if (precision_ == Precision::kInt8) {
    return onednn::matmul(src, weights_md, nullptr, onednn::Desc({M, N}, Type::s32, tag::ab));
  }
  const onednn::Desc bias({1, N}, Type::f32, tag::ab);
  return onednn::matmul(src, weights_md, &bias,
                        onednn::Desc({M, N}, onednn::type_of(y_type), onednn::Dims{ld_y, 1}),
                        epilogue_);
}

struct Linear::Products {
  static constexpr std::size_t kMost = 32;  // a pass's shapes, and a few passes' more
  struct Entry {
    std::int64_t rows, ld_x, ld_y;
    DType y_type;
    onednn::Product product;
  };
  std::mutex mutex;
  std::vector<Entry> entries;  // at most kMost, the oldest replaced first
  std::size_t oldest = 0;
};

onednn::Product Linear::product(std::int64_t rows, std::int64_t ld_x, DType y_type,
                                std::int64_t ld_y) const {
  {
    const std::lock_guard lock(products_->mutex);
    for (const auto& e : products_->entries) {
      if (e.rows == rows && e.ld_x == ld_x && e.ld_y == ld_y && e.y_type == y_type)
        return e.product;
    }
  }
  onednn::Product made(describe(rows, ld_x, y_type, ld_y));
  const std::lock_guard lock(products_->mutex);
  auto& entries = products_->entries;
  if (entries.size() < Products::kMost) {
    entries.push_back({rows, ld_x, ld_y, y_type, made});
  } else {
    entries[products_->oldest] = {rows, ld_x, ld_y, y_type, made};
    products_->oldest = (products_->oldest + 1) % Products::kMost;
  }
  return made;
}

Linear::Linear(std::span<const float> weight, std::span<const float> bias, int in, int out,
               Precision precision, Epilogue epilogue, const ActivationRange* fixed_input)
    : products_(std::make_shared<Products>()),
      in_(in),
      out_(out),
      precision_(precision),
      epilogue_(epilogue) {
  const auto n_in = static_cast<std::size_t>(in), n_out = static_cast<std::size_t>(out);
  if (precision == Precision::kFp32) {  // what int8-static's calibration reads, at fp32 only
    input_weight_max_.assign(n_in, 0.f);
    for (std::size_t c = 0; c < n_out; ++c) {
      for (std::size_t k = 0; k < n_in; ++k) {
        input_weight_max_[k] = std::max(input_weight_max_[k], std::abs(weight[c * n_in + k]));
      }
    }
  }
  const auto packed = describe(64, in, DType::kF32, out).weights_desc();
  // W^T as K x N is the [out, in] buffer read with strides (1, K): format "ba".
  const dnnl::memory::dim K = in, N = out;
  if (precision == Precision::kInt8) {
    if (in > kInt8Depth) {
      throw Error(ErrorCode::kUnsupported,
                  "int8 products sum in 32 bits, exactly up to a depth of " +
                      std::to_string(kInt8Depth) + "; this layer is " + std::to_string(in) +
                      " wide: use fp32 or bf16");
    }
    std::vector<float> smoothed;
    if (fixed_input != nullptr) {
      fixed_input_ = fixed_code(*fixed_input, in);
      if (!fixed_input->smooth.empty()) {
        smoothed.assign(weight.begin(), weight.end());
        for (std::size_t c = 0; c < n_out; ++c) {
          for (std::size_t k = 0; k < n_in; ++k) smoothed[c * n_in + k] *= fixed_input->smooth[k];
        }
        weight = smoothed;
      }
    }
    std::vector<std::int8_t> q(weight.size());
    scales_.resize(static_cast<std::size_t>(out));
    loops().quantize_weights(weight.data(), out, in, onednn::int8_weight_limit(), q.data(),
                             scales_.data());
    weights_ = onednn::reorder({{K, N}, Type::s8, tag::ba}, q.data(), packed);
    sums_.assign(static_cast<std::size_t>(out), 0);
    by_input_.resize(q.size());
    for (std::size_t c = 0; c < n_out; ++c) {
      for (std::size_t k = 0; k < n_in; ++k) {
        sums_[c] += q[c * n_in + k];
        by_input_[k * n_out + c] = q[c * n_in + k];
      }
    }
    bias_values_.assign(bias.begin(), bias.end());
    return;
  }
  // For bf16 the reorder rounds to nearest even.
  weights_ = onednn::reorder({{K, N}, Type::f32, tag::ba}, weight.data(), packed);
  bias_ = dnnl::memory({{1, N}, Type::f32, tag::ab}, onednn::engine());
  std::copy(bias.begin(), bias.end(), static_cast<float*>(bias_.get_data_handle()));
}

void Linear::operator()(const Rows& x, std::int64_t rows, const Rows& y) const {
  if (rows == 0) return;
  if (precision_ == Precision::kFp32) {
    onednn::run(product(rows, x.ld, y.type, y.ld), x.data, weights_, &bias_, y.data);
    return;
  }
  if (precision_ != Precision::kInt8) {
    in_even_pieces(0, rows, 0, [&](std::int64_t first, std::int64_t count) {
      onednn::run(product(count, x.ld, y.type, y.ld), x.from(first).data, weights_, &bias_,
                  y.from(first).data);
    });
    return;
  }
  // A block of rows at a time, whose accumulators (512 KiB at most) stay in cache for the pass
  // that finishes them.
  constexpr std::int64_t kAccumulators = 1 << 17;
  const std::int64_t most = std::max<std::int64_t>(64, kAccumulators / out_ / 64 * 64);
  const auto floats = static_cast<std::size_t>(out_);
  float* scratch = thread_scratch(floats);
  // One block into this thread's accumulators, reused from call to call (the hot path allocates
  // nothing once warm), then finished; `own` is this thread's row of scratch.
  auto block_at = [&](std::int64_t first, std::int64_t count, float* own) {
    thread_local std::vector<std::int32_t> acc;
    if (acc.size() < static_cast<std::size_t>(count) * floats) {
      acc.resize(static_cast<std::size_t>(count) * floats);
    }
    const Rows in = x.from(first);
    onednn::run(product(count, x.ld, DType::kF32, out_), in.data, weights_, nullptr, acc.data());
    loops().dequantize(acc.data(), count, out_, in,
                       {scales_.data(), sums_.data(), by_input_.data()}, bias_values_.data(),
                       epilogue_, y.from(first), own);
  };
  if (rows_go_round(rows)) {
    // Each thread multiplies and finishes blocks of its own share, with no barrier between a
    // product and its finish (oneDNN runs on the calling thread inside a parallel region).
    in_shares(rows, [&](std::int64_t share_first, std::int64_t share_count) {
      float* own = scratch + static_cast<std::size_t>(omp_get_thread_num()) * floats;
      in_even_pieces(share_first, share_count, most,
                     [&](std::int64_t first, std::int64_t count) { block_at(first, count, own); });
    });
    return;
  }
  // Few rows: one block at a time, each product over all threads.
  in_even_pieces(0, rows, most,
                 [&](std::int64_t first, std::int64_t count) { block_at(first, count, scratch); });
}

bool rows_go_round(std::int64_t rows) {
  const int team = omp_get_max_threads();
  return team > 1 && rows >= kRowsPerThread * team && omp_in_parallel() == 0;
}

RowShare::RowShare(std::int64_t rows, std::int64_t threads, std::int64_t t) {
  const std::int64_t units = rows / 16;
  auto start = [&](std::int64_t i) {
    return i == threads ? rows : 16 * (units / threads * i + std::min(i, units % threads));
  };
  first = start(t);
  count = start(t + 1) - first;
}

void convert(const float* x, std::int64_t rows, int cols, std::int64_t ld, const Rows& out) {
  loops().convert(x, rows, cols, ld, out);
}

}  // namespace lat::kernels
