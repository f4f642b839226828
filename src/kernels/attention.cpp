#include "kernels/attention.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace lat::kernels {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstStrided = Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>>;
using Strided = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

}  // namespace

void attention_probs_acc(const HeadInput& h, float* probs, float* acc) {
  const ConstStrided q(h.q, h.n, h.dh, Eigen::OuterStride<>(h.ld));
  const ConstStrided k(h.k, h.n, h.dh, Eigen::OuterStride<>(h.ld));
  Eigen::Map<RowMatrix> scores(probs, h.n, h.n);
  scores.noalias() = q * k.transpose();
  const float scale = 1.0f / std::sqrt(static_cast<float>(h.dh));
  for (int i = 0; i < h.n; ++i) {
    float* row = probs + static_cast<std::int64_t>(i) * h.n;
    float max = -INFINITY;
    for (int j = 0; j < h.n; ++j) {
      row[j] *= scale;
      max = std::max(max, row[j]);
    }
    float sum = 0.f;
    for (int j = 0; j < h.n; ++j) {
      row[j] = std::exp(row[j] - max);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < h.n; ++j) {
      row[j] *= inv;
      acc[j] += row[j];
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
