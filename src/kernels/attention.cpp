#include "kernels/attention.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <dnnl.hpp>
#include <vector>

#include "kernels/linear.hpp"

namespace lat::kernels {
namespace {

// exp(x) for x <= 0, the arguments of a softmax after its maximum is subtracted. Plain arithmetic
// so that loops over it vectorise; relative error about 1e-7. Below -87 it returns 2^-126.
inline float exp_nonpositive(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  x = std::max(x, -87.0f);
  const float shifted = x * 1.44269504088896341f + kShift;
  const float n = shifted - kShift;                                               // round(x / ln 2)
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;  // |r| <= ln2/2
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t exponent =
      std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kShift);
  return p * std::bit_cast<float>((exponent + 127) << 23);
}

// The largest of n floats, in 16 lanes so that it vectorises (a max reduction does not, without
// fast-math; "x > m ? x : m" is exactly the vector max instruction).
inline float row_max(const float* row, int n) {
  constexpr int kLanes = 16;
  float lanes[kLanes];
  std::fill_n(lanes, kLanes, -INFINITY);
  int j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; ++l) lanes[l] = row[j + l] > lanes[l] ? row[j + l] : lanes[l];
  }
  float max = -INFINITY;
  for (; j < n; ++j) max = row[j] > max ? row[j] : max;
  for (float l : lanes) max = l > max ? l : max;
  return max;
}

}  // namespace

namespace {

// dst = src x weights for plain memory of any strides, with a batch dimension: one oneDNN
// product, whose primitive oneDNN's cache returns after the first call of a shape.
void strided_matmul(const dnnl::memory::desc& src_md, const float* src,
                    const dnnl::memory::desc& weights_md, const float* weights,
                    const dnnl::memory::desc& dst_md, float* dst) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto& engine = cpu_engine();
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(src_md, weights_md, dst_md), attr,
                                        engine);
  thread_local std::vector<std::uint8_t> scratch;
  if (scratch.size() < pd.scratchpad_desc().get_size())
    scratch.resize(pd.scratchpad_desc().get_size());
  dnnl::stream stream(engine);
  dnnl::memory s(src_md, engine, const_cast<float*>(src));
  dnnl::memory w(weights_md, engine, const_cast<float*>(weights));
  dnnl::memory d(dst_md, engine, dst);
  dnnl::memory pad(pd.scratchpad_desc(), engine, scratch.data());
  dnnl::matmul(pd).execute(
      stream,
      {{DNNL_ARG_SRC, s}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, d}, {DNNL_ARG_SCRATCHPAD, pad}});
  stream.wait();
}

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

}  // namespace

void attention_scores(const float* qkv, std::int64_t ld, int n, int heads, int dh, float* scores) {
  const dnnl::memory::dim H = heads, N = n, D = dh, d = std::int64_t{heads} * dh;
  // Q_h: n x dh with rows ld apart; K_h^T: dh x n read from K's rows; S_h: n x n, dense.
  strided_matmul({{H, N, D}, dt::f32, dims{D, ld, 1}}, qkv, {{H, D, N}, dt::f32, dims{D, 1, ld}},
                 qkv + d, {{H, N, N}, dt::f32, dims{N * N, N, 1}}, scores);
}

void softmax_acc(float* probs, int n, float scale, float* acc) {
  for (int i = 0; i < n; ++i) {
    float* row = probs + static_cast<std::int64_t>(i) * n;
    const float max = row_max(row, n);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; ++j) {
      row[j] = exp_nonpositive((row[j] - max) * scale);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      row[j] *= inv;
      acc[j] += row[j];  // ACC: the column sums, in the same pass
    }
  }
}

void compact_rows(float* probs, int n, std::span<const int> rows) {
  for (std::size_t t = 0; t < rows.size(); ++t) {  // rows ascend, so rows[t] >= t: no overwrite
    if (rows[t] != static_cast<int>(t)) {
      std::memcpy(probs + static_cast<std::int64_t>(t) * n, probs + std::int64_t{rows[t]} * n,
                  sizeof(float) * static_cast<std::size_t>(n));
    }
  }
}

void attention_context(const float* qkv, std::int64_t ld, int n, int heads, int dh,
                       const float* probs, int k, float* out, std::int64_t ld_out) {
  const dnnl::memory::dim H = heads, N = n, K = k, D = dh, d = std::int64_t{heads} * dh;
  // P_h: the first k rows of head h's n x n block; V_h: n x dh with rows ld apart; out: the
  // heads side by side in rows ld_out apart.
  strided_matmul({{H, K, N}, dt::f32, dims{N * N, N, 1}}, probs,
                 {{H, N, D}, dt::f32, dims{D, ld, 1}}, qkv + 2 * d,
                 {{H, K, D}, dt::f32, dims{D, ld_out, 1}}, out);
}

}  // namespace lat::kernels
