#include "kernels/attention.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace lat::kernels {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstStrided = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

// exp(x) for x <= 0, the arguments of a softmax after its maximum is subtracted. Plain arithmetic
// so that loops over it vectorise; relative error about 1e-7. Below -87 it returns 2^-126.
inline float exp_nonpositive(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  x = std::max(x, -87.0f);
  const float shifted = x * 1.44269504088896341f + kShift;
  const float n = shifted - kShift;  // round(x / ln 2)
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;  // |r| <= ln2/2
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t exponent = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(kShift);
  return p * std::bit_cast<float>((exponent + 127) << 23);
}

}  // namespace

void attention_probs_acc(const HeadInput& h, float* probs, float* acc) {
  const ConstStrided q(h.q, h.n, h.dh, Eigen::OuterStride<>(h.ld));
  const ConstStrided k(h.k, h.n, h.dh, Eigen::OuterStride<>(h.ld));
  Eigen::Map<RowMatrix> scores(probs, h.n, h.n);
  scores.noalias() = q * k.transpose();
  const float scale = 1.0f / std::sqrt(static_cast<float>(h.dh));
  const int n = h.n;
  for (int i = 0; i < n; ++i) {
    float* row = probs + static_cast<std::int64_t>(i) * n;
    float max = -INFINITY;
#pragma omp simd reduction(max : max)
    for (int j = 0; j < n; ++j) max = std::max(max, row[j]);
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

void attention_context(const HeadInput& h, float* probs, std::span<const int> rows, float* out,
                       std::int64_t ld_out) {
  const auto k = static_cast<std::int64_t>(rows.size());
  for (std::int64_t t = 0; t < k; ++t) {  // rows ascend, so rows[t] >= t: no overwrite
    if (rows[t] != t) {
      std::memcpy(probs + t * h.n, probs + static_cast<std::int64_t>(rows[t]) * h.n,
                  sizeof(float) * static_cast<std::size_t>(h.n));
    }
  }
  const Eigen::Map<const RowMatrix> p(probs, k, h.n);
  const ConstStrided v(h.v, h.n, h.dh, Eigen::OuterStride<>(h.ld));
  Strided o(out, k, h.dh, Eigen::OuterStride<>(ld_out));
  o.noalias() = p * v;
}

}  // namespace lat::kernels
