#include "model/bert.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/onednn.hpp"

namespace lat::model {
namespace {

using kernels::DType;
using kernels::Rows;

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

// Q, K, V and the attention probabilities: bf16 for bf16 and int8 products where the CPU
// multiplies bf16 natively (emulated, it would be slower than fp32), else fp32.
DType attention_type(Precision p) {
  if (p == Precision::kBf16) return DType::kBF16;
  if (p == Precision::kInt8 && kernels::onednn::has_native_bf16()) return DType::kBF16;
  return DType::kF32;
}

// A buffer reused from call to call on the same thread, so the hot path allocates nothing once
// warm. It grows to the largest batch a thread has run and is freed when the thread ends.
struct Buffer {
  std::vector<std::byte> storage;  // raw storage, aligned for every element type

  void* take(std::size_t bytes) {
    if (storage.size() < bytes) storage.resize(bytes);
    return storage.data();
  }
  // rows x cols of `type`; uint8 rows take their codes from `codes`.
  Rows rows(DType type, std::size_t rows, std::size_t cols, Buffer* codes = nullptr) {
    Rows r{type, take(rows * cols * kernels::size_of(type)), static_cast<std::int64_t>(cols)};
    if (type == DType::kU8) {
      r.codes = static_cast<kernels::RowCode*>(codes->take(rows * sizeof(kernels::RowCode)));
    }
    return r;
  }
};

struct Workspace {
  Buffer x, kept_x, x_in, x_codes, qkv, scores, probs, context, context_in, context_codes,
      projected, inner, inner_codes, head_acc;
};

// fp32 rows in the form `linear` reads: themselves, or converted into `in` (bf16 or uint8).
Rows input_for(const kernels::Linear& linear, float* x, std::int64_t rows, int d, Buffer& in,
               Buffer& codes) {
  if (linear.input_type() == DType::kF32) return kernels::f32_rows(x, d);
  const Rows out = in.rows(linear.input_type(), static_cast<std::size_t>(rows),
                           static_cast<std::size_t>(d), &codes);
  kernels::convert(x, rows, d, d, out);
  return out;
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

// Attention runs over groups of sequences whose score matrices (heads x n x n each) fit in this
// many floats together, or one sequence alone: long batches never hold them all at once.
constexpr std::size_t kScoresBudget = std::size_t{1} << 21;

double workspace_bytes(const io::BertConfig& c, const PackedBatch& batch) {
  double rows = batch.offsets.back(), longest = 0;
  for (std::size_t s = 0; s + 1 < batch.offsets.size(); ++s) {
    longest = std::max(longest, double(batch.offsets[s + 1] - batch.offsets[s]));
  }
  const double scores = std::max(double(kScoresBudget), c.heads * longest * longest);
  // At most, fp32 everywhere: x, kept_x, x_in, context, context_in, projected (d each), qkv (3d),
  // inner, head_acc; scores and probabilities.
  return 4.0 * (rows * (9.0 * c.hidden + c.intermediate + c.heads) + 2.0 * scores);
}

ForwardResult forward(const BertWeights& w, const PackedBatch& batch,
                      std::span<const std::vector<int>> keep, bool trace) {
  const auto& c = w.config;
  const auto& loops = kernels::loops();
  const DType attention = attention_type(w.precision);
  const DType probs_type = attention;  // the product P V reads P in the type of V
  const int d = c.hidden, heads = c.heads, dh = d / heads;
  const int sequences = static_cast<int>(batch.offsets.size()) - 1;
  const auto rows = static_cast<std::size_t>(batch.offsets.back());
  const auto ud = static_cast<std::size_t>(d);
  const auto heads_u = static_cast<std::size_t>(heads);

  ForwardResult result;
  result.positions.resize(rows);
  for (int s = 0; s < sequences; ++s) {
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      result.positions[static_cast<std::size_t>(r)] = r - batch.offsets[s];
    }
  }
  if (trace) result.trace.assign(static_cast<std::size_t>(sequences), {});

  // Activations sized for the first layer; every later layer has as many rows or fewer.
  thread_local Workspace ws;
  float* x = static_cast<float*>(ws.x.take(rows * ud * 4));
  float* kept_x = static_cast<float*>(ws.kept_x.take(rows * ud * 4));
  float* projected = static_cast<float*>(ws.projected.take(rows * ud * 4));
  const Rows qkv = ws.qkv.rows(attention, rows, 3 * ud);
  float* head_acc = static_cast<float*>(ws.head_acc.take(heads_u * rows * 4));

  std::vector<int> offsets = batch.offsets, next_offsets(offsets.size(), 0);
  std::vector<int> next_positions(rows);
  std::vector<std::vector<int>> kept(static_cast<std::size_t>(sequences));
  std::vector<std::size_t> block_at(static_cast<std::size_t>(sequences) + 1, 0);

  embed(w, batch, x);

  for (int l = 0; l < c.layers; ++l) {
    const LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.qkv(input_for(lw.qkv, x, offsets.back(), d, ws.x_in, ws.x_codes), offsets.back(), qkv);

    auto rows_of = [&](int s) { return offsets[s + 1] - offsets[s]; };
    auto acc_of = [&](int s, int h) {
      return head_acc + heads_u * static_cast<std::size_t>(offsets[s]) +
             static_cast<std::size_t>(h * rows_of(s));
    };
    std::fill_n(head_acc, heads_u * static_cast<std::size_t>(offsets.back()), 0.f);

    // The kept input rows (the residual) move to their packed place, unless every sequence
    // keeps every row. A_i = concat_h P_h[i, :] V_h for the kept rows only, in the output
    // product's input type when the attention's type can write it, else in fp32.
    bool all_kept = true;
    for (int s = 0; s < sequences; ++s) {
      all_kept =
          all_kept && keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)] >= rows_of(s);
    }
    const float* residual = all_kept ? x : kept_x;
    const DType context_type = lw.output.input_type() == attention ? attention : DType::kF32;
    const Rows context = ws.context.rows(context_type, rows, ud);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));

    for (int first = 0, last = 0; first < sequences; first = last) {
      // A group of sequences; each (sequence, head) owns an n x n block of its scores and probs.
      block_at[static_cast<std::size_t>(first)] = 0;
      for (last = first; last < sequences; ++last) {
        const auto n = static_cast<std::size_t>(rows_of(last));
        const std::size_t end = block_at[static_cast<std::size_t>(last)] + heads_u * n * n;
        if (last > first && end > kScoresBudget) break;
        block_at[static_cast<std::size_t>(last) + 1] = end;
      }
      const std::size_t used = block_at[static_cast<std::size_t>(last)];
      float* scores = static_cast<float*>(ws.scores.take(used * 4));
      void* probs = probs_type == DType::kF32 ? scores : ws.probs.take(used * 2);
      auto block = [&](int s, int h) {
        const auto n = static_cast<std::size_t>(rows_of(s));
        return block_at[static_cast<std::size_t>(s)] + static_cast<std::size_t>(h) * n * n;
      };
      auto probs_of = [&](int s, int h) {
        return static_cast<std::byte*>(probs) + block(s, h) * kernels::size_of(probs_type);
      };
      const int tasks = (last - first) * heads;

      // Scores, then softmax with ACC, for every head of every sequence of the group.
      for (int s = first; s < last; ++s) {
        kernels::attention_scores(qkv.from(offsets[s]), rows_of(s), heads, dh,
                                  scores + block(s, 0));
      }
#pragma omp parallel for schedule(dynamic)
      for (int t = 0; t < tasks; ++t) {
        const int s = first + t / heads, h = t % heads;
        loops.softmax_acc(scores + block(s, h), rows_of(s), scale, acc_of(s, h),
                          probs_type == DType::kBF16
                              ? reinterpret_cast<std::uint16_t*>(probs_of(s, h))
                              : nullptr);
      }

      // Keep sets.
      for (int s = first; s < last; ++s) {
        const int n = rows_of(s);
        std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
        for (int h = 0; h < heads; ++h) {
          const float* a = acc_of(s, h);
          for (int j = 0; j < n; ++j) acc[static_cast<std::size_t>(j)] += a[j];
        }
        for (float& a : acc) a /= static_cast<float>(heads);
        auto& rows_kept = kept[static_cast<std::size_t>(s)];
        rows_kept =
            select_rows(acc, keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)]);
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

      // The context of the kept rows.
#pragma omp parallel for schedule(dynamic)
      for (int t = 0; t < tasks; ++t) {
        const int s = first + t / heads;
        kernels::compact_rows(probs_of(s, t % heads), probs_type, rows_of(s),
                              kept[static_cast<std::size_t>(s)]);
      }
      for (int s = first; s < last; ++s) {
        kernels::attention_context(qkv.from(offsets[s]), rows_of(s), heads, dh, probs_of(s, 0),
                                   next_offsets[s + 1] - next_offsets[s],
                                   context.from(next_offsets[s]));
      }
    }

    const std::int64_t kept_rows = next_offsets.back();
    std::swap(offsets, next_offsets);
    result.positions.assign(next_positions.begin(), next_positions.begin() + kept_rows);

    // Y = LN(X + A Wo + bo); Z = LN(Y + act(Y W1 + b1) W2 + b2), on kept rows only.
    const Rows attended = context.type == lw.output.input_type()
                              ? context
                              : input_for(lw.output, context.as<float>(), kept_rows, d,
                                          ws.context_in, ws.context_codes);
    lw.output(attended, kept_rows, kernels::f32_rows(projected, d));
    loops.add_layer_norm(projected, residual, kept_rows, d, lw.attention_norm_gamma.data(),
                         lw.attention_norm_beta.data(), c.layer_norm_eps);
    const Rows inner = ws.inner.rows(lw.ffn_out.input_type(), rows,
                                     static_cast<std::size_t>(c.intermediate), &ws.inner_codes);
    lw.ffn_in(input_for(lw.ffn_in, projected, kept_rows, d, ws.x_in, ws.x_codes), kept_rows, inner);
    lw.ffn_out(inner, kept_rows, kernels::f32_rows(x, d));
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
