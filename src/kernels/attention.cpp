#include "kernels/attention.hpp"

#include <cstring>

#include "kernels/onednn.hpp"

namespace lat::kernels {
namespace {

using Dims = onednn::Dims;

std::byte* at(const Rows& r, std::int64_t element) {
  return static_cast<std::byte*>(r.data) + element * static_cast<std::int64_t>(size_of(r.type));
}

}  // namespace

void attention_scores(const Rows& qkv, int n, int heads, int dh, float* scores) {
  const dnnl::memory::dim H = heads, N = n, D = dh, d = std::int64_t{heads} * dh, ld = qkv.ld;
  const auto t = onednn::type_of(qkv.type);
  // Q_h: n x dh with rows ld apart; K_h^T: dh x n read from K's rows; S_h: n x n, dense.
  const auto pd = onednn::matmul({{H, N, D}, t, Dims{D, ld, 1}}, {{H, D, N}, t, Dims{D, 1, ld}},
                                 nullptr, {{H, N, N}, onednn::Type::f32, Dims{N * N, N, 1}});
  onednn::run(pd, qkv.data, at(qkv, d), scores);
}

void compact_rows(void* probs, DType type, int n, std::span<const int> rows) {
  const auto row_bytes = size_of(type) * static_cast<std::size_t>(n);
  auto* p = static_cast<std::byte*>(probs);
  for (std::size_t t = 0; t < rows.size(); ++t) {  // rows ascend, so rows[t] >= t: no overwrite
    if (rows[t] != static_cast<int>(t)) {
      std::memcpy(p + t * row_bytes, p + static_cast<std::size_t>(rows[t]) * row_bytes, row_bytes);
    }
  }
}

void attention_context(const Rows& qkv, int n, int heads, int dh, const void* probs, int k,
                       const Rows& out) {
  const dnnl::memory::dim H = heads, N = n, K = k, D = dh, d = std::int64_t{heads} * dh,
                          ld = qkv.ld;
  const auto t = onednn::type_of(qkv.type);
  // P_h: the first k rows of head h's n x n block; V_h: n x dh with rows ld apart; out: the
  // heads side by side in rows out.ld apart.
  const auto pd =
      onednn::matmul({{H, K, N}, t, Dims{N * N, N, 1}}, {{H, N, D}, t, Dims{D, ld, 1}}, nullptr,
                     {{H, K, D}, onednn::type_of(out.type), Dims{D, out.ld, 1}});
  onednn::run(pd, probs, at(qkv, 2 * d), out.data);
}

}  // namespace lat::kernels
