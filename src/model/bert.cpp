#include "model/bert.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"

namespace lat::model {
namespace {

// Row 0, then the k-1 other rows of largest ACC (ties to the smaller index), in original order.
std::vector<int> select_rows(std::span<const float> acc, int k) {
  const int n = static_cast<int>(acc.size());
  std::vector<int> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  if (k >= n) return rows;
  k = std::max(k, 1);
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
  kernels::loops().add_layer_norm(x, nullptr, batch.offsets.back(), d,
                                  w.embedding_norm_gamma.data(), w.embedding_norm_beta.data(),
                                  w.config.layer_norm_eps);
}

}  // namespace

// Buffers reused from call to call on the same thread, so the hot path allocates nothing once
// warm. They grow to the largest batch a thread has run and are freed when the thread ends.
struct Workspace {
  std::vector<float> x, kept_x, qkv, context, projected, inner, probs, head_acc;

  static float* take(std::vector<float>& v, std::size_t n) {
    if (v.size() < n) v.resize(n);
    return v.data();
  }
};

double workspace_bytes(const io::BertConfig& c, const PackedBatch& batch) {
  double rows = batch.offsets.back(), squares = 0;
  for (std::size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    const double n = batch.offsets[s + 1] - batch.offsets[s];
    squares += n * n;
  }
  // x, kept_x, context, projected (d each), qkv (3d), inner, head_acc; probs (heads n^2)
  return 4.0 * (rows * (7.0 * c.hidden + c.intermediate + c.heads) + c.heads * squares);
}

ForwardResult forward(const BertWeights& w, const PackedBatch& batch,
                      std::span<const std::vector<int>> keep, bool trace) {
  const auto& c = w.config;
  const auto& loops = kernels::loops();
  const int d = c.hidden, heads = c.heads, dh = d / heads;
  const int sequences = static_cast<int>(batch.offsets.size()) - 1;
  const auto rows = static_cast<std::size_t>(batch.offsets.back());
  const auto ud = static_cast<std::size_t>(d);

  ForwardResult result;
  result.positions.resize(rows);
  for (int s = 0; s < sequences; ++s) {
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      result.positions[static_cast<std::size_t>(r)] = r - batch.offsets[s];
    }
  }
  if (trace) result.trace.assign(static_cast<std::size_t>(sequences), {});

  // Each (sequence, head) owns a slice of probs (n x n) and of head_acc (n).
  std::vector<std::size_t> probs_at(static_cast<std::size_t>(sequences) + 1, 0);
  for (int s = 0; s < sequences; ++s) {
    const auto n = static_cast<std::size_t>(batch.offsets[s + 1] - batch.offsets[s]);
    probs_at[static_cast<std::size_t>(s) + 1] = probs_at[static_cast<std::size_t>(s)] + n * n;
  }
  const auto heads_u = static_cast<std::size_t>(heads);

  // Activations sized for the first layer; every later layer has as many rows or fewer.
  thread_local Workspace ws;
  float* x = Workspace::take(ws.x, rows * ud);
  float* kept_x = Workspace::take(ws.kept_x, rows * ud);
  float* qkv = Workspace::take(ws.qkv, rows * 3 * ud);
  float* context = Workspace::take(ws.context, rows * ud);
  float* projected = Workspace::take(ws.projected, rows * ud);
  float* inner = Workspace::take(ws.inner, rows * static_cast<std::size_t>(c.intermediate));
  float* probs = Workspace::take(ws.probs, heads_u * probs_at.back());
  float* head_acc = Workspace::take(ws.head_acc, heads_u * rows);

  std::vector<int> offsets = batch.offsets, next_offsets(offsets.size(), 0);
  std::vector<int> next_positions(rows);
  std::vector<std::vector<int>> kept(static_cast<std::size_t>(sequences));

  embed(w, batch, x);

  for (int l = 0; l < c.layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.qkv(kernels::f32_rows(x, d), offsets.back(), kernels::f32_rows(qkv, 3 * d));

    auto qkv_of = [&](int s) { return qkv + std::int64_t{offsets[s]} * 3 * d; };
    auto rows_of = [&](int s) { return offsets[s + 1] - offsets[s]; };
    auto probs_of = [&](int s, int h) {
      const auto n = static_cast<std::size_t>(rows_of(s));
      return probs + heads_u * probs_at[static_cast<std::size_t>(s)] +
             static_cast<std::size_t>(h) * n * n;
    };
    auto acc_of = [&](int s, int h) {
      return head_acc + heads_u * static_cast<std::size_t>(offsets[s]) +
             static_cast<std::size_t>(h * rows_of(s));
    };

    // Scores, then softmax with ACC, for every head of every sequence.
    for (int s = 0; s < sequences; ++s) {
      kernels::attention_scores(kernels::f32_rows(qkv_of(s), 3 * d), rows_of(s), heads, dh,
                                probs_of(s, 0));
    }
    std::fill_n(head_acc, heads_u * static_cast<std::size_t>(offsets.back()), 0.f);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    const int tasks = sequences * heads;
#pragma omp parallel for schedule(dynamic)
    for (int t = 0; t < tasks; ++t) {
      loops.softmax_acc(probs_of(t / heads, t % heads), rows_of(t / heads), scale,
                        acc_of(t / heads, t % heads));
    }

    // Keep sets; the kept input rows (the residual) move to their packed place, unless every
    // sequence keeps every row.
    bool all_kept = true;
    for (int s = 0; s < sequences; ++s) {
      all_kept =
          all_kept && keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)] >= rows_of(s);
    }
    const float* residual = all_kept ? x : kept_x;
    for (int s = 0; s < sequences; ++s) {
      const int n = rows_of(s);
      std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
      for (int h = 0; h < heads; ++h) {
        const float* a = acc_of(s, h);
        for (int j = 0; j < n; ++j) acc[static_cast<std::size_t>(j)] += a[j];
      }
      for (float& a : acc) a /= static_cast<float>(heads);
      auto& rows_kept = kept[static_cast<std::size_t>(s)];
      rows_kept = select_rows(acc, keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)]);
      next_offsets[s + 1] = next_offsets[s] + static_cast<int>(rows_kept.size());
      for (std::size_t t = 0; t < rows_kept.size(); ++t) {
        const auto from = static_cast<std::size_t>(offsets[s] + rows_kept[t]);
        const auto to = static_cast<std::size_t>(next_offsets[s]) + t;
        if (!all_kept) std::memcpy(kept_x + to * ud, x + from * ud, sizeof(float) * ud);
        next_positions[to] = result.positions[from];
      }
      if (trace) {
        LayerTrace lt{std::move(acc), {}};
        for (std::size_t t = 0; t < rows_kept.size(); ++t) {
          lt.kept.push_back(next_positions[static_cast<std::size_t>(next_offsets[s]) + t]);
        }
        result.trace[static_cast<std::size_t>(s)].push_back(std::move(lt));
      }
    }

    // A_i = concat_h P_h[i, :] V_h for the kept rows only.
#pragma omp parallel for schedule(dynamic)
    for (int t = 0; t < tasks; ++t) {
      kernels::compact_rows(probs_of(t / heads, t % heads), kernels::DType::kF32,
                            rows_of(t / heads), kept[static_cast<std::size_t>(t / heads)]);
    }
    for (int s = 0; s < sequences; ++s) {
      kernels::attention_context(kernels::f32_rows(qkv_of(s), 3 * d), rows_of(s), heads, dh,
                                 probs_of(s, 0), next_offsets[s + 1] - next_offsets[s],
                                 kernels::f32_rows(context + std::int64_t{next_offsets[s]} * d, d));
    }

    const std::int64_t kept_rows = next_offsets.back();
    std::swap(offsets, next_offsets);
    result.positions.assign(next_positions.begin(), next_positions.begin() + kept_rows);

    // Y = LN(X + A Wo + bo); Z = LN(Y + act(Y W1 + b1) W2 + b2), on kept rows only.
    lw.output(kernels::f32_rows(context, d), kept_rows, kernels::f32_rows(projected, d));
    loops.add_layer_norm(projected, residual, kept_rows, d, lw.attention_norm_gamma.data(),
                         lw.attention_norm_beta.data(), c.layer_norm_eps);
    lw.ffn_in(kernels::f32_rows(projected, d), kept_rows, kernels::f32_rows(inner, c.intermediate));
    lw.ffn_out(kernels::f32_rows(inner, c.intermediate), kept_rows, kernels::f32_rows(x, d));
    loops.add_layer_norm(x, projected, kept_rows, d, lw.output_norm_gamma.data(),
                         lw.output_norm_beta.data(), c.layer_norm_eps);
  }
  result.hidden.assign(x, x + static_cast<std::size_t>(offsets.back()) * ud);
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
  (*w.pooler)(kernels::f32_rows(first.data(), d), sequences, kernels::f32_rows(pooled.data(), d));
  const int labels = w.num_labels();
  std::vector<float> logits(static_cast<std::size_t>(sequences) * labels);
  (*w.classifier)(kernels::f32_rows(pooled.data(), d), sequences,
                  kernels::f32_rows(logits.data(), labels));
  return logits;
}

}  // namespace lat::model
