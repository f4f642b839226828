#include "model/bert.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernels/attention.hpp"
#include "kernels/norm.hpp"

namespace lat::model {
namespace {

// Row 0, then the k-1 other rows of largest ACC (ties to the smaller index), in original order.
std::vector<int> select_rows(std::span<const float> acc, int k) {
  const int n = static_cast<int>(acc.size());
  std::vector<int> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  if (k >= n) return rows;
  auto by_acc = [&](int a, int b) { return acc[a] > acc[b] || (acc[a] == acc[b] && a < b); };
  std::partial_sort(rows.begin() + 1, rows.begin() + k, rows.end(), by_acc);
  rows.resize(static_cast<std::size_t>(k));
  std::sort(rows.begin() + 1, rows.end());
  return rows;
}

void embed(const BertWeights& w, const PackedBatch& batch, float* x) {
  const int d = w.config.hidden;
  const int sequences = static_cast<int>(batch.offsets.size()) - 1;
  for (int s = 0; s < sequences; ++s) {
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      const auto id = static_cast<std::size_t>(batch.ids[static_cast<std::size_t>(r)]);
      const auto type = static_cast<std::size_t>(batch.type_ids[static_cast<std::size_t>(r)]);
      const auto pos = static_cast<std::size_t>(r - batch.offsets[s]);
      const float* word = w.word_embeddings.data() + id * d;
      const float* position = w.position_embeddings.data() + pos * d;
      const float* type_row = w.type_embeddings.data() + type * d;
      float* out = x + static_cast<std::int64_t>(r) * d;
      for (int i = 0; i < d; ++i) out[i] = word[i] + position[i] + type_row[i];
    }
  }
  kernels::add_layer_norm(x, nullptr, batch.offsets.back(), d, w.embedding_norm_gamma.data(),
                          w.embedding_norm_beta.data(), w.config.layer_norm_eps);
}

}  // namespace

ForwardResult forward(const BertWeights& w, const PackedBatch& batch,
                      std::span<const std::vector<int>> keep, bool trace) {
  const auto& c = w.config;
  const int d = c.hidden, heads = c.heads, dh = d / heads;
  const int sequences = static_cast<int>(batch.offsets.size()) - 1;
  const std::int64_t rows = batch.offsets.back();

  ForwardResult result;
  result.width = d;
  result.offsets = batch.offsets;
  result.positions.resize(static_cast<std::size_t>(rows));
  for (int s = 0; s < sequences; ++s) {
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      result.positions[static_cast<std::size_t>(r)] = r - batch.offsets[s];
    }
  }
  if (trace) result.trace.assign(static_cast<std::size_t>(sequences), {});

  int longest = 0;
  for (int s = 0; s < sequences; ++s)
    longest = std::max(longest, batch.offsets[s + 1] - batch.offsets[s]);

  // Activations for the widest layer; every later layer has as many rows or fewer.
  std::vector<float> x(static_cast<std::size_t>(rows * d));
  std::vector<float> kept_x(x.size());
  std::vector<float> qkv(static_cast<std::size_t>(rows * 3 * d));
  std::vector<float> context(x.size());
  std::vector<float> projected(x.size());
  std::vector<float> inner(static_cast<std::size_t>(rows * c.intermediate));
  std::vector<float> probs(static_cast<std::size_t>(heads) * longest * longest);
  std::vector<float> head_acc(static_cast<std::size_t>(heads) * longest);
  std::vector<int> offsets = batch.offsets, next_offsets(offsets.size());
  std::vector<int> next_positions(result.positions.size());

  embed(w, batch, x.data());

  for (int l = 0; l < c.layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.qkv(x.data(), offsets.back(), qkv.data());

    next_offsets[0] = 0;
    for (int s = 0; s < sequences; ++s) {
      const int n = offsets[s + 1] - offsets[s];
      const int begin = offsets[s];
      const float* base = qkv.data() + static_cast<std::int64_t>(begin) * 3 * d;
      auto head_input = [&](int h) {
        return kernels::HeadInput{
            base + h * dh, base + d + h * dh, base + 2 * d + h * dh, 3 * d, n, dh};
      };
      std::fill_n(head_acc.begin(), static_cast<std::size_t>(heads) * n, 0.f);
#pragma omp parallel for schedule(static)
      for (int h = 0; h < heads; ++h) {
        kernels::attention_probs_acc(head_input(h), probs.data() + std::int64_t{h} * n * n,
                                     head_acc.data() + std::int64_t{h} * n);
      }
      std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
      for (int h = 0; h < heads; ++h) {
        for (int j = 0; j < n; ++j)
          acc[static_cast<std::size_t>(j)] += head_acc[static_cast<std::size_t>(h * n + j)];
      }
      for (float& a : acc) a /= static_cast<float>(heads);

      const int k =
          std::clamp(keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)], 1, n);
      const std::vector<int> kept = select_rows(acc, k);
      const int out_begin = next_offsets[s];
      next_offsets[s + 1] = out_begin + k;
#pragma omp parallel for schedule(static)
      for (int h = 0; h < heads; ++h) {
        kernels::attention_context(head_input(h), probs.data() + std::int64_t{h} * n * n, kept,
                                   context.data() + std::int64_t{out_begin} * d + h * dh, d);
      }
      for (int t = 0; t < k; ++t) {
        const auto from = static_cast<std::size_t>(begin + kept[static_cast<std::size_t>(t)]);
        const auto to = static_cast<std::size_t>(out_begin + t);
        std::memcpy(kept_x.data() + to * d, x.data() + from * d, sizeof(float) * d);
        next_positions[to] = result.positions[from];
      }
      if (trace) {
        LayerTrace lt{std::move(acc), {}};
        for (int t = 0; t < k; ++t)
          lt.kept.push_back(next_positions[static_cast<std::size_t>(out_begin + t)]);
        result.trace[static_cast<std::size_t>(s)].push_back(std::move(lt));
      }
    }
    const std::int64_t kept_rows = next_offsets.back();
    std::swap(offsets, next_offsets);
    result.positions.resize(static_cast<std::size_t>(kept_rows));
    std::copy_n(next_positions.begin(), kept_rows, result.positions.begin());

    // Y = LN(X + A Wo + bo); Z = LN(Y + act(Y W1 + b1) W2 + b2), on kept rows only.
    lw.output(context.data(), kept_rows, projected.data());
    kernels::add_layer_norm(projected.data(), kept_x.data(), kept_rows, d,
                            lw.attention_norm_gamma.data(), lw.attention_norm_beta.data(),
                            c.layer_norm_eps);
    lw.ffn_in(projected.data(), kept_rows, inner.data());
    lw.ffn_out(inner.data(), kept_rows, x.data());
    kernels::add_layer_norm(x.data(), projected.data(), kept_rows, d, lw.output_norm_gamma.data(),
                            lw.output_norm_beta.data(), c.layer_norm_eps);
  }
  x.resize(static_cast<std::size_t>(offsets.back()) * d);
  result.hidden = std::move(x);
  result.offsets = offsets;
  return result;
}

std::vector<float> classify_head(const BertWeights& w, const ForwardResult& r) {
  const int d = w.config.hidden;
  const int sequences = static_cast<int>(r.offsets.size()) - 1;
  std::vector<float> first(static_cast<std::size_t>(sequences) * d);
  for (int s = 0; s < sequences; ++s) {
    std::copy_n(r.hidden.begin() + std::int64_t{r.offsets[s]} * d, d,
                first.begin() + std::int64_t{s} * d);
  }
  std::vector<float> pooled(first.size());
  (*w.pooler)(first.data(), sequences, pooled.data());
  std::vector<float> logits(static_cast<std::size_t>(sequences) * w.num_labels());
  (*w.classifier)(pooled.data(), sequences, logits.data());
  return logits;
}

}  // namespace lat::model
