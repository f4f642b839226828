#include "model/forward.hpp"

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/onednn.hpp"

namespace lat::model {
namespace {

using kernels::DType;
using kernels::Rows;

// How many of its n rows a sequence keeps when asked to keep k: all of them, or at least row 0.
int kept_count(int k, int n) { return k >= n ? n : std::max(k, 1); }

// Row 0, then the other rows of largest ACC (ties to the smaller index), kept_count(k, n) in all,
// in original order, into `rows`.
void select_rows(std::span<const float> acc, int k, std::vector<int>& rows) {
  const int n = static_cast<int>(acc.size());
  rows.resize(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  if (k >= n) return;
  k = kept_count(k, n);
  auto by_acc = [&](int a, int b) { return acc[a] > acc[b] || (acc[a] == acc[b] && a < b); };
  std::partial_sort(rows.begin() + 1, rows.begin() + k, rows.end(), by_acc);
  rows.resize(static_cast<std::size_t>(k));
  std::sort(rows.begin() + 1, rows.end());
}

// Q, K, V and the attention probabilities: bf16 for bf16 and int8 products where the CPU
// multiplies bf16 natively (emulated, it would be slower than fp32), else fp32.
DType attention_type(Precision p) {
  if (p == Precision::kBf16) return DType::kBF16;
  const bool int8 = p == Precision::kInt8 || p == Precision::kInt8Static;
  if (int8 && kernels::onednn::has_native_bf16()) return DType::kBF16;
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
  Buffer embedded, x, spare, x_in, x_codes, qkv, scores, probs, every_context, context, context_in,
      context_codes, projected, inner, inner_in, inner_codes, head_acc, acc, head_scratch, normed,
      gate, rotary;
  // The pass's bookkeeping (Pass has its meaning), kept from call to call like the buffers.
  std::vector<int> offsets, next_offsets, next_positions, came_from;
  std::vector<std::vector<int>> kept;
  std::vector<std::size_t> block_at;
};

// A value outside every local window: its probability underflows to nothing (Loops::softmax_acc
// takes its exponential as 2^-126, or 0 in the AVX-512 variants' rows of 64 values or more).
constexpr float kMasked = -1e30f;

float bf16_value(std::uint16_t b) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(b) << 16);
}
std::uint16_t bf16_bits(float f) {  // round to nearest even (the values are finite)
  const auto u = std::bit_cast<std::uint32_t>(f);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// Room in `in` (and `codes`) for `rows` rows of `cols` in the form `linear` reads.
Rows input_rows(const kernels::Linear& linear, std::int64_t rows, int cols, Buffer& in,
                Buffer& codes) {
  Rows r = in.rows(linear.input_type(), static_cast<std::size_t>(rows),
                   static_cast<std::size_t>(cols), &codes);
  r.fixed = linear.fixed_input();
  return r;
}

// Word, position and token type embeddings of every row, layer norm, and the projection to the
// hidden size where the embeddings are narrower (ELECTRA). `embedded` holds rows of the
// embedding width when it differs from x's.
// Where `also` is set, the normed rows are written there too (the first product's input).
void embed(const Weights& w, const PackedBatch& batch, float* x, float* embedded,
           const Rows& also) {
  const auto& em = w.embeddings;
  const auto& c = w.config;
  const int e = c.embedding_size;
  float* out_rows = em.projection ? embedded : x;
  const int sequences = static_cast<int>(batch.offsets.size()) - 1;
  for (int s = 0; s < sequences; ++s) {
    int counted = c.position_offset;  // RoBERTa, XLM-R, MPNet: tokens other than padding count on
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      const auto id = static_cast<std::size_t>(batch.ids[static_cast<std::size_t>(r)]);
      const bool padding = static_cast<int>(id) == c.padding_idx;
      const auto pos = static_cast<std::size_t>(padding ? c.padding_idx : counted++);
      const float* word = em.word.data() + id * e;
      float* out = out_rows + static_cast<std::int64_t>(r) * e;
      std::copy_n(word, e, out);
      if (!em.position.empty()) {  // rotary families turn Q and K instead (Pass::rotate)
        const float* position = em.position.data() + pos * e;
        for (int i = 0; i < e; ++i) out[i] += position[i];
      }
      if (!em.token_type.empty()) {
        const auto type = static_cast<std::size_t>(batch.type_ids[static_cast<std::size_t>(r)]);
        const float* type_row = em.token_type.data() + type * e;
        for (int i = 0; i < e; ++i) out[i] += type_row[i];
      }
    }
  }
  kernels::loops().add_layer_norm(out_rows, nullptr, nullptr, batch.offsets.back(), e,
                                  em.norm.gamma.data(), em.norm.beta.data(), c.layer_norm_eps,
                                  also);
  if (em.projection) {
    (*em.projection)(kernels::f32_rows(embedded, e), batch.offsets.back(),
                     kernels::f32_rows(x, c.hidden));
  }
}

}  // namespace

// Attention runs over groups of sequences whose score matrices (heads x n x n each; none for a
// sequence whose scores come from tiles) fit in this many floats together, or one sequence
// alone: long batches never hold them all at once.
constexpr std::size_t kScoresBudget = std::size_t{1} << 21;

// Sequences of at most this many rows run attention in lat's own per-head loops, longer ones in
// oneDNN's products: where the two cost about the same (bench_attention, 2 threads, fp32 and bf16:
// 48 rows in a batch of 32, 48 to 64 alone).
constexpr int kOwnLoopsUpTo = 48;

namespace {

// A batch runs as passes over consecutive sequences of at most kPassRows rows together (or over
// one longer sequence alone), whose activations stay nearer the cache: passes of 4,096 rows and
// more run 9 to 15% slower per row at int8 (bench_latency, 28 and 128 tokens).
constexpr int kPassRows = 2048;

// The end of the pass that begins with sequence `first`.
int pass_end(const std::vector<int>& offsets, int first) {
  const int sequences = static_cast<int>(offsets.size()) - 1;
  int last = first + 1;
  while (last < sequences && offsets[last + 1] - offsets[first] <= kPassRows) ++last;
  return last;
}

}  // namespace

double workspace_bytes(const Config& c, const PackedBatch& batch) {
  const std::vector<int>& offsets = batch.offsets;
  double most = 0;
  for (int first = 0, last = 0; first + 1 < static_cast<int>(offsets.size()); first = last) {
    last = pass_end(offsets, first);
    double longest = 0;
    for (int s = first; s < last; ++s)
      longest = std::max(longest, double(offsets[s + 1] - offsets[s]));
    const double rows = offsets[last] - offsets[first];
    const double scores = std::max(double(kScoresBudget), c.heads * longest * longest);
    // At most, fp32 everywhere: x, spare, x_in, every_context, context, context_in, projected,
    // normed (d each), qkv (3d), inner (intermediate) and a gated product's two halves and coded
    // inner, head_acc; scores and probabilities.
    const double inner = c.family->structure.feed_forward == FeedForward::kGated ? 4.0 : 1.0;
    most = std::max(
        most, 4.0 * (rows * (11.0 * c.hidden + inner * c.intermediate + c.heads) + 2.0 * scores));
  }
  return most;
}

namespace {

// One pass over consecutive sequences of a call (forward() runs a call as passes of at most
// kPassRows rows): the packed rows, their original positions and, layer after layer, which of
// them are kept. Embeddings -> layer (attention with ACC, keep selection, finish on the kept
// rows) L times -> the last rows.
class Pass {
 public:
  Pass(const Weights& w, const PackedBatch& batch, bool trace, const InputObserver* observer);
  void layer(const LayerWeights& lw, int l, std::span<const std::vector<int>> keep);
  ForwardResult done();

 private:
  int rows_of(int s) const { return offsets_[s + 1] - offsets_[s]; }
  // Whether sequence s runs lat's own per-head loops (short ones: their arithmetic costs less
  // than a oneDNN call), or takes its attention from AMX tiles (attend has the why of both).
  bool own(int s) const { return rows_of(s) <= kOwnLoopsUpTo; }
  bool tiled(int s) const { return tiles_ && !own(s); }
  float* acc_of(int s, int h) {
    return head_acc_ + heads_ * static_cast<std::size_t>(offsets_[s]) +
           static_cast<std::size_t>(h * rows_of(s));
  }
  // Scores, softmax with ACC, keep sets and the context of the kept rows, for the sequences
  // first..last-1, whose score matrices fit kScoresBudget together (or one alone).
  // all_kept: every sequence of the pass keeps all its rows in this layer.
  void attend(int first, int last, int l, std::span<const std::vector<int>> keep, bool all_kept,
              const Rows& context);
  // The keep set of sequence s from its ACC, into its place in next_offsets_: the kept rows'
  // original positions, and where each comes from.
  void select(int s, int k);
  // Q and K of every row turned by the row's original position (rotary families).
  void rotate(int l);
  // On the kept rows only. Post-norm: Y = LN(X + A Wo + bo); Z = LN(Y + F(Y)). Pre-norm:
  // Y = X + A Wo + bo; Z = Y + F(LN(Y)). F(Y) = act(Y W1 + b1) W2 + b2, or with a gate,
  // (act(Y W1 + b1) * (Y Wg + bg)) W2 + b2.
  // X is x_'s row came_from_[r] for kept row r (x_'s row r where came_from is null: every row
  // kept). Then the next layer's Q, K and V, if there is a next layer (l + 1).
  void finish(const LayerWeights& lw, int l, const Rows& context, const int* came_from);
  // Whether layer lw's first product reads the layer's input rows as they are (no norm first).
  bool reads_x(const LayerWeights& lw) const { return !(pre_norm_ && lw.attention_norm.present()); }
  // Room for every row's input to layer lw's first product, where it reads another type than
  // fp32 (else none), in x_in and x_codes.
  Rows qkv_input(const LayerWeights& lw);
  // Layer l's Q, K and V of `count` rows from `first` into qkv_, from its input rows x: from
  // `coded` (qkv_input's) where `ready` (a norm wrote these rows there), else from x, normed
  // first where the layer norms its input. Its buffers are taken already: it may run on a
  // share of the rows.
  void project(const LayerWeights& lw, int l, float* x, std::int64_t first, std::int64_t count,
               const Rows& coded, bool ready);
  // Shows the observer, if any, layer l's input to a product; returns it.
  const Rows& observed(int l, Product product, const Rows& input, std::int64_t rows,
                       int cols) const;

  const Weights& w_;
  const Config& c_;
  const kernels::Loops& loops_;
  const DType attention_;  // Q, K, V and the probabilities (P V reads P in the type of V)
  const int d_;
  const std::size_t heads_;
  const int sequences_;
  const bool trace_;
  const bool pre_norm_;
  const bool tiles_;  // bf16 Q and K, on a CPU with AMX, in heads the tiles take
  const InputObserver* observer_;
  Workspace& ws_;
  // x_: the rows between layers; spare_: where a pruned layer writes them (finish).
  float *x_, *spare_, *projected_, *head_acc_, *normed_ = nullptr;
  Rows qkv_;
  // Where every sequence is tiled and rows were dropped: the context of every row, from which
  // finish takes the kept rows' (row came_from_[r] for kept row r); else none.
  Rows gather_from_;
  // Each sequence's first row, before and after this layer's selection; the original position of
  // each row that leaves it, and its row before; each sequence's kept rows (of its first
  // `sequences_` entries); where each sequence's score block starts.
  std::vector<int>&offsets_, &next_offsets_, &next_positions_, &came_from_;
  std::vector<std::vector<int>>& kept_;
  std::vector<std::size_t>& block_at_;
  ForwardResult result_;
};

Workspace& workspace() {
  // Activations sized for the first layer; every later layer has as many rows or fewer.
  thread_local Workspace ws;
  return ws;
}

Pass::Pass(const Weights& w, const PackedBatch& batch, bool trace, const InputObserver* observer)
    : w_(w),
      c_(w.config),
      loops_(kernels::loops()),
      attention_(attention_type(w.precision)),
      d_(w.config.hidden),
      heads_(static_cast<std::size_t>(w.config.heads)),
      sequences_(static_cast<int>(batch.offsets.size()) - 1),
      trace_(trace),
      pre_norm_(w.config.family->structure.norm == NormPlacement::kPre),
      tiles_(loops_.scores_rows != nullptr && attention_ == DType::kBF16 &&
             d_ / w.config.heads % kernels::kTileDepth == 0 &&
             d_ / w.config.heads <= kernels::kMaxTileDh),
      observer_(observer),
      ws_(workspace()),
      offsets_(ws_.offsets),
      next_offsets_(ws_.next_offsets),
      next_positions_(ws_.next_positions),
      came_from_(ws_.came_from),
      kept_(ws_.kept),
      block_at_(ws_.block_at) {
  offsets_.assign(batch.offsets.begin(), batch.offsets.end());
  next_offsets_.assign(batch.offsets.size(), 0);
  // Never shrunk: the inner vectors keep their room for the next call.
  if (kept_.size() < static_cast<std::size_t>(sequences_)) kept_.resize(sequences_);
  block_at_.assign(static_cast<std::size_t>(sequences_) + 1, 0);
  const auto rows = static_cast<std::size_t>(batch.offsets.back());
  const auto ud = static_cast<std::size_t>(d_);
  x_ = static_cast<float*>(ws_.x.take(rows * ud * 4));
  spare_ = static_cast<float*>(ws_.spare.take(rows * ud * 4));
  projected_ = static_cast<float*>(ws_.projected.take(rows * ud * 4));
  head_acc_ = static_cast<float*>(ws_.head_acc.take(heads_ * rows * 4));
  if (pre_norm_) normed_ = static_cast<float*>(ws_.normed.take(rows * ud * 4));
  qkv_ = ws_.qkv.rows(attention_, rows, 3 * ud);
  next_positions_.resize(rows);
  came_from_.resize(rows);
  result_.positions.resize(rows);
  for (int s = 0; s < sequences_; ++s) {
    for (int r = batch.offsets[s]; r < batch.offsets[s + 1]; ++r) {
      result_.positions[static_cast<std::size_t>(r)] = r - batch.offsets[s];
    }
  }
  if (trace_) result_.trace.assign(static_cast<std::size_t>(sequences_), {});
  float* embedded = w.embeddings.projection
                        ? static_cast<float*>(ws_.embedded.take(
                              rows * static_cast<std::size_t>(c_.embedding_size) * 4))
                        : nullptr;
  // The embeddings' norm writes the first product's input where that product reads them as
  // they are.
  const LayerWeights& first = w.layers.front();
  const Rows coded = qkv_input(first);
  const bool ready = !w.embeddings.projection && reads_x(first);
  embed(w, batch, x_, embedded, ready ? coded : Rows{});
  project(first, 0, x_, 0, batch.offsets.back(), coded, ready);
}

const Rows& Pass::observed(int l, Product product, const Rows& input, std::int64_t rows,
                           int cols) const {
  if (observer_ != nullptr) (*observer_)(l, product, input.as<float>(), rows, cols);
  return input;
}

Rows Pass::qkv_input(const LayerWeights& lw) {
  return lw.qkv.input_type() == DType::kF32
             ? Rows{}
             : input_rows(lw.qkv, offsets_.back(), d_, ws_.x_in, ws_.x_codes);
}

void Pass::project(const LayerWeights& lw, int l, float* x, std::int64_t first, std::int64_t count,
                   const Rows& coded, bool ready) {
  const std::int64_t at = first * d_;
  const Rows in = coded.data != nullptr ? coded.from(first) : Rows{};
  float* rows = x + at;
  if (!reads_x(lw)) {
    std::copy_n(rows, count * d_, normed_ + at);
    loops_.add_layer_norm(normed_ + at, nullptr, nullptr, count, d_, lw.attention_norm.gamma.data(),
                          lw.attention_norm.beta.data(), c_.layer_norm_eps, in);
    rows = normed_ + at;
  } else if (in.data != nullptr && !ready) {
    kernels::convert(rows, count, d_, d_, in);
  }
  const Rows input = in.data != nullptr ? in : kernels::f32_rows(rows, d_);
  lw.qkv(observed(l, Product::kQkv, input, count, d_), count, qkv_.from(first));
}

void Pass::layer(const LayerWeights& lw, int l, std::span<const std::vector<int>> keep) {
  // qkv_ holds this layer's Q, K and V: the previous layer's finish, or the constructor, made
  // them.
  if (c_.family->structure.positions == PositionKind::kRotary) rotate(l);
  std::fill_n(head_acc_, heads_ * static_cast<std::size_t>(offsets_.back()), 0.f);
  // How many rows each sequence keeps is known before the selection, and so are their places.
  bool all_kept = true;
  for (int s = 0; s < sequences_; ++s) {
    const int k = keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)], n = rows_of(s);
    all_kept = all_kept && k >= n;
    next_offsets_[s + 1] = next_offsets_[s] + kept_count(k, n);
  }
  // A_i = concat_h P_h[i, :] V_h for the kept rows, in the output product's input type when
  // the attention's type can write it, else in fp32.
  const DType context_type = lw.output.input_type() == attention_ ? attention_ : DType::kF32;
  const Rows context = ws_.context.rows(context_type, static_cast<std::size_t>(offsets_.back()),
                                        static_cast<std::size_t>(d_));
  for (int first = 0, last = 0; first < sequences_; first = last) {
    block_at_[static_cast<std::size_t>(first)] = 0;
    for (last = first; last < sequences_; ++last) {
      const auto n = static_cast<std::size_t>(rows_of(last));
      // Tiled sequences hold no scores: any number of them share a block.
      const std::size_t end =
          block_at_[static_cast<std::size_t>(last)] + (tiled(last) ? 0 : heads_ * n * n);
      if (last > first && end > kScoresBudget) break;
      block_at_[static_cast<std::size_t>(last) + 1] = end;
    }
    attend(first, last, l, keep, all_kept, context);
  }
  const std::int64_t kept_rows = next_offsets_.back();
  std::swap(offsets_, next_offsets_);
  result_.positions.assign(next_positions_.begin(), next_positions_.begin() + kept_rows);
  finish(lw, l, context, all_kept ? nullptr : came_from_.data());
}

void Pass::attend(int first, int last, int l, std::span<const std::vector<int>> keep, bool all_kept,
                  const Rows& context) {
  const int heads = static_cast<int>(heads_), dh = d_ / heads;
  // Short sequences run lat's own per-head loops, whose arithmetic costs less than a oneDNN
  // call; they keep P in fp32 and read the kept rows of it in place.
  // Longer ones, with bf16 Q and K on a CPU with AMX, take their scores from tiles, 16 rows at a
  // time into the thread's scratch, where the softmax reads them, and the softmax's rows of P go
  // to the tiles of P V while still there: neither scores nor P leave the cache. The context of
  // every row is made, and the kept rows' taken after the selection: cheaper than writing P out,
  // moving its kept rows together and multiplying them. Elsewhere the scores and the context
  // come from one batched oneDNN product per sequence each.
  int longest = 0;
  bool any_own = false, all_tiled = true;
  for (int s = first; s < last; ++s) {
    longest = std::max(longest, rows_of(s));
    any_own = any_own || own(s);
    all_tiled = all_tiled && tiled(s);
  }
  // The scores' blocks of the sequences that do not take tiles (their room is counted in
  // block_at_; a sequence whose block is over kScoresBudget is a block alone).
  const std::size_t used = block_at_[static_cast<std::size_t>(last)];
  float* scores = tiles_ && !any_own ? nullptr : static_cast<float*>(ws_.scores.take(used * 4));
  void* probs = tiles_ ? nullptr : attention_ == DType::kF32 ? scores : ws_.probs.take(used * 2);
  // The tiled sequences' context of every row, where their rows begin: `context` itself where
  // every row is kept.
  const Rows every_context =
      !tiles_    ? Rows{}
      : all_kept ? context
                 : ws_.every_context.rows(context.type, static_cast<std::size_t>(offsets_[last]),
                                          static_cast<std::size_t>(d_));
  // Each thread's scratch, in whole cache lines: an own head's, or a tiled head's packed keys,
  // packed values, rows of scores and rows of P.
  const std::size_t own_bytes = kernels::head_scores_scratch(kOwnLoopsUpTo, dh) * 4;
  const std::size_t tile_bytes =
      tiles_ ? (kernels::packed_keys_size(longest, dh) + kernels::packed_values_size(longest, dh) +
                kernels::tile_probs_size(longest)) *
                       2 +
                   kernels::tile_scores_size(longest) * 4
             : 0;
  const std::size_t thread_bytes = (std::max(own_bytes, tile_bytes) + 63) / 64 * 64;
  std::byte* thread_scratch = static_cast<std::byte*>(
      ws_.head_scratch.take(static_cast<std::size_t>(omp_get_max_threads()) * thread_bytes));
  auto block = [&](int s, int h) {  // each (sequence, head) owns an n x n block
    const auto n = static_cast<std::size_t>(rows_of(s));
    return block_at_[static_cast<std::size_t>(s)] + static_cast<std::size_t>(h) * n * n;
  };
  auto probs_of = [&](int s, int h) {
    return static_cast<std::byte*>(probs) + block(s, h) * kernels::size_of(attention_);
  };
  auto head_columns = [&](const Rows& rows, int h) {  // head h's dh columns of `rows`
    return Rows{rows.type,
                static_cast<std::byte*>(rows.data) +
                    static_cast<std::size_t>(h * dh) * kernels::size_of(rows.type),
                rows.ld};
  };
  const int tasks = (last - first) * heads;
  // A thread takes a sequence's heads together where there are enough sequences to go round:
  // blocks of short sequences share cache lines.
  const int chunk = last - first >= omp_get_max_threads() ? heads : 1;
  for (int s = first; s < last; ++s) {
    if (!own(s) && !tiled(s)) {
      kernels::attention_scores(qkv_.from(offsets_[s]), rows_of(s), heads, dh,
                                scores + block(s, 0));
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const auto& em = w_.embeddings;
  const bool biased = !em.relative_bias.empty();
  const bool local = c_.local(l);
  const int reach = c_.window / 2;  // a local layer's row sees original positions this near
  // Rows from `row` on (`count` of them, ld floats apart at `at`) of (s, h)'s scores become its
  // probabilities, written over them or to `probs_rows` (bf16), and add to its ACC.
  auto probabilities = [&](int s, int h, float* at, std::int64_t ld, int row, int count,
                           void* probs_rows) {
    const int n = rows_of(s);
    const int* pos = result_.positions.data() + offsets_[s];
    if (local) {  // outside the window on original positions: no probability, no ACC
      for (int i = 0; i < count; ++i) {
        for (int j = 0; j < n; ++j) {
          if (std::abs(pos[row + i] - pos[j]) > reach) at[i * ld + j] = kMasked;
        }
      }
    }
    if (biased) {  // MPNet: scale, then the bias of each pair's original distance
      loops_.add_relative_bias(at, count, n, ld, scale, pos + row, pos, em.distance_bucket.data(),
                               c_.max_positions, em.relative_bias.data() + h, heads);
    }
    loops_.softmax_acc(at, count, n, ld, biased ? 1.0f : scale, acc_of(s, h),
                       static_cast<std::uint16_t*>(probs_rows));
  };
#pragma omp parallel for schedule(dynamic, chunk)
  for (int t = 0; t < tasks; ++t) {
    const int s = first + t / heads, h = t % heads, n = rows_of(s);
    std::byte* scratch =
        thread_scratch + static_cast<std::size_t>(omp_get_thread_num()) * thread_bytes;
    if (own(s)) {
      loops_.head_scores(qkv_.from(offsets_[s]), n, heads, dh, h, scores + block(s, h),
                         reinterpret_cast<float*>(scratch));
      probabilities(s, h, scores + block(s, h), n, 0, n, nullptr);
    } else if (tiled(s)) {
      auto* keys = reinterpret_cast<std::uint16_t*>(scratch);
      std::uint16_t* values = keys + kernels::packed_keys_size(n, dh);
      auto* rows_scores = reinterpret_cast<float*>(values + kernels::packed_values_size(n, dh));
      auto* rows_probs =
          reinterpret_cast<std::uint16_t*>(rows_scores + kernels::tile_scores_size(n));
      const Rows at = qkv_.from(offsets_[s]);
      loops_.pack_keys(at, n, heads, dh, h, keys);
      loops_.pack_values(at, n, heads, dh, h, values);
      // Finite values past the rows, where context_rows reads on and multiplies by zero.
      std::fill_n(rows_probs, kernels::tile_probs_size(n), std::uint16_t{0});
      loops_.begin_tiles();
      for (int row = 0; row < n; row += kernels::kTileRows) {
        const int count = std::min(kernels::kTileRows, n - row);
        loops_.scores_rows(at, n, heads, dh, h, row, keys, rows_scores);
        probabilities(s, h, rows_scores, kernels::tile_row_floats(n), row, count, rows_probs);
        loops_.context_rows(rows_probs, n, values, dh, count,
                            head_columns(every_context.from(offsets_[s] + row), h));
      }
      loops_.end_tiles();
    } else {
      const bool bf16 = attention_ == DType::kBF16;
      probabilities(s, h, scores + block(s, h), n, 0, n, bf16 ? probs_of(s, h) : nullptr);
    }
  }
  for (int s = first; s < last; ++s) {
    select(s, keep[static_cast<std::size_t>(s)][static_cast<std::size_t>(l)]);
  }
  if (all_tiled && all_kept) return;  // the context is in place
  if (all_tiled && first == 0 && last == sequences_) {
    gather_from_ = every_context;  // finish takes each kept row's context where it lies
    return;
  }
#pragma omp parallel for schedule(dynamic, chunk)
  for (int t = 0; t < tasks; ++t) {
    const int s = first + t / heads, h = t % heads;
    const auto& rows = kept_[static_cast<std::size_t>(s)];
    if (own(s)) {
      loops_.head_context(qkv_.from(offsets_[s]), rows_of(s), heads, dh, h, scores + block(s, h),
                          rows.data(), static_cast<int>(rows.size()),
                          context.from(next_offsets_[s]));
    } else if (tiled(s)) {
      if (all_kept) continue;
      const std::size_t bytes = static_cast<std::size_t>(dh) * kernels::size_of(context.type);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        std::memcpy(head_columns(context.from(next_offsets_[s] + static_cast<int>(i)), h).data,
                    head_columns(every_context.from(offsets_[s] + rows[i]), h).data, bytes);
      }
    } else {
      kernels::compact_rows(probs_of(s, h), attention_, rows_of(s), rows);
    }
  }
  for (int s = first; s < last; ++s) {
    if (!own(s) && !tiled(s)) {
      kernels::attention_context(qkv_.from(offsets_[s]), rows_of(s), heads, dh, probs_of(s, 0),
                                 next_offsets_[s + 1] - next_offsets_[s],
                                 context.from(next_offsets_[s]));
    }
  }
}

void Pass::select(int s, int k) {
  const int n = rows_of(s);
  const std::span acc(static_cast<float*>(ws_.acc.take(static_cast<std::size_t>(n) * 4)),
                      static_cast<std::size_t>(n));
  std::fill(acc.begin(), acc.end(), 0.f);
  for (std::size_t h = 0; h < heads_; ++h) {
    const float* a = acc_of(s, static_cast<int>(h));
    for (int j = 0; j < n; ++j) acc[static_cast<std::size_t>(j)] += a[j];
  }
  for (float& a : acc) a /= static_cast<float>(heads_);
  auto& rows_kept = kept_[static_cast<std::size_t>(s)];
  select_rows(acc, k, rows_kept);
  for (std::size_t t = 0; t < rows_kept.size(); ++t) {
    const int from = offsets_[s] + rows_kept[t];
    const auto to = static_cast<std::size_t>(next_offsets_[s]) + t;
    came_from_[to] = from;
    next_positions_[to] = result_.positions[static_cast<std::size_t>(from)];
  }
  if (trace_) {
    LayerRecord lt{{acc.begin(), acc.end()}, {}};
    for (std::size_t t = 0; t < rows_kept.size(); ++t) {
      lt.positions.push_back(next_positions_[static_cast<std::size_t>(next_offsets_[s]) + t]);
    }
    result_.trace[static_cast<std::size_t>(s)].push_back(std::move(lt));
  }
}

void Pass::rotate(int l) {
  const int heads = static_cast<int>(heads_), dh = d_ / heads, half = dh / 2;
  const float theta = c_.local(l) ? c_.local_rope_theta : c_.rope_theta;
  // The reference's fp32 arithmetic: theta^(-2i/dh), its product with the position, cos, sin.
  float* inverse = static_cast<float*>(ws_.rotary.take(static_cast<std::size_t>(half) * 4));
  for (int i = 0; i < half; ++i) {
    inverse[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(dh));
  }
  const std::int64_t rows = offsets_.back();
  const bool bf16 = qkv_.type == DType::kBF16;
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    const auto position = static_cast<float>(result_.positions[static_cast<std::size_t>(r)]);
    for (int i = 0; i < half; ++i) {
      const float angle = inverse[i] * position;
      const float cos = std::cos(angle), sin = std::sin(angle);
      for (int part = 0; part < 2; ++part) {  // Q, then K
        for (int h = 0; h < heads; ++h) {
          const std::int64_t at = r * qkv_.ld + part * d_ + h * dh + i;
          if (bf16) {
            auto* v = static_cast<std::uint16_t*>(qkv_.data);
            const float a = bf16_value(v[at]), b = bf16_value(v[at + half]);
            v[at] = bf16_bits(a * cos - b * sin);
            v[at + half] = bf16_bits(b * cos + a * sin);
          } else {
            auto* v = static_cast<float*>(qkv_.data);
            const float a = v[at], b = v[at + half];
            v[at] = a * cos - b * sin;
            v[at + half] = b * cos + a * sin;
          }
        }
      }
    }
  }
}

void Pass::finish(const LayerWeights& lw, int l, const Rows& context, const int* came_from) {
  const std::int64_t rows = offsets_.back();
  const auto following = static_cast<std::size_t>(l) + 1;
  const LayerWeights* next = following < w_.layers.size() ? &w_.layers[following] : nullptr;
  const int dff = c_.intermediate;
  const auto fp32_input = [](const kernels::Linear& linear) {
    return linear.input_type() == DType::kF32;
  };
  // Every buffer is taken for all rows before any thread runs: only then may the rows go through
  // the layer in shares, one a thread (below).
  const bool convert_context = context.type != lw.output.input_type();
  const Rows attended = convert_context
                            ? input_rows(lw.output, rows, d_, ws_.context_in, ws_.context_codes)
                            : context;
  const Rows ffn_input =
      fp32_input(lw.ffn_in) ? Rows{} : input_rows(lw.ffn_in, rows, d_, ws_.x_in, ws_.x_codes);
  // The next layer's first input (the same buffer as ffn_input: a row is written there after its
  // feed-forward has read it). A post-norm layer's last norm writes it.
  const Rows next_input = next == nullptr ? Rows{} : qkv_input(*next);
  const bool gated = c_.family->structure.feed_forward == FeedForward::kGated;
  const auto udff = static_cast<std::size_t>(dff), urows = static_cast<std::size_t>(rows);
  float* both = gated ? static_cast<float*>(ws_.gate.take(urows * udff * 8)) : nullptr;
  float* activated = gated ? static_cast<float*>(ws_.inner.take(urows * udff * 4)) : nullptr;
  const Rows inner = !gated ? input_rows(lw.ffn_out, rows, dff, ws_.inner, ws_.inner_codes)
                     : fp32_input(lw.ffn_out)
                         ? kernels::f32_rows(activated, dff)
                         : input_rows(lw.ffn_out, rows, dff, ws_.inner_in, ws_.inner_codes);
  // A pruned layer writes its rows into the spare: the rows it reads as residuals may lie past
  // its own, where another share may already be writing.
  float* out = came_from == nullptr ? x_ : spare_;

  const auto context_bytes = static_cast<std::size_t>(d_) * kernels::size_of(context.type);
  auto through = [&](std::int64_t first, std::int64_t count) {
    const auto at = first * d_;
    if (gather_from_.data != nullptr) {
      for (std::int64_t r = first; r < first + count; ++r) {
        std::memcpy(context.from(r).data, gather_from_.from(came_from[r]).data, context_bytes);
      }
    }
    if (convert_context) {
      kernels::convert(context.from(first).as<float>(), count, d_, d_, attended.from(first));
    }
    float* projected = projected_ + at;
    lw.output(observed(l, Product::kOutput, attended.from(first), count, d_), count,
              kernels::f32_rows(projected, d_));
    // X, the layer's input: rows came_from of x_, or x_'s own.
    const float* residual = came_from == nullptr ? x_ + at : x_;
    const int* residual_at = came_from == nullptr ? nullptr : came_from + first;
    float* normed = projected;
    if (pre_norm_) {
      loops_.add_rows(projected, residual, residual_at, count, d_);
      normed = normed_ + at;
      std::copy_n(projected, count * d_, normed);
      residual = nullptr;
      residual_at = nullptr;
    }
    const NormWeights& norm = pre_norm_ ? lw.output_norm : lw.attention_norm;
    const Rows coded = ffn_input.data != nullptr ? ffn_input.from(first) : Rows{};
    loops_.add_layer_norm(normed, residual, residual_at, count, d_, norm.gamma.data(),
                          norm.beta.data(), c_.layer_norm_eps, coded);
    const Rows ffn_in = coded.data != nullptr ? coded : kernels::f32_rows(normed, d_);
    observed(l, Product::kFfnIn, ffn_in, count, d_);
    if (gated) {
      float* halves = both + first * 2 * dff;
      float* a = activated + first * dff;
      lw.ffn_in(ffn_in, count, kernels::f32_rows(halves, 2 * dff));
      loops_.gated(halves, count, dff, lw.gate_activation, a);
      if (inner.data != activated) kernels::convert(a, count, dff, dff, inner.from(first));
    } else {
      lw.ffn_in(ffn_in, count, inner.from(first));
    }
    float* y = out + at;
    lw.ffn_out(observed(l, Product::kFfnOut, inner.from(first), count, dff), count,
               kernels::f32_rows(y, d_));
    if (pre_norm_) {
      loops_.add_rows(y, projected, nullptr, count, d_);
    } else {
      loops_.add_layer_norm(y, projected, nullptr, count, d_, lw.output_norm.gamma.data(),
                            lw.output_norm.beta.data(), c_.layer_norm_eps,
                            next_input.data != nullptr ? next_input.from(first) : Rows{});
    }
    if (next != nullptr) project(*next, l + 1, out, first, count, next_input, !pre_norm_);
  };
  // Where the rows go round the threads, each takes its share through the whole chain: no
  // barrier between the products and the loops, and a share's rows stay in its core's cache.
  // An observer sees each product's input whole.
  if (observer_ == nullptr && kernels::rows_go_round(rows)) {
    kernels::in_shares(rows, through);
  } else {
    through(0, rows);
  }
  if (out != x_) std::swap(x_, spare_);
  gather_from_ = Rows{};
}

ForwardResult Pass::done() {
  if (w_.final_norm.present()) {
    loops_.add_layer_norm(x_, nullptr, nullptr, offsets_.back(), d_, w_.final_norm.gamma.data(),
                          w_.final_norm.beta.data(), c_.layer_norm_eps, {});
  }
  result_.hidden.assign(
      x_, x_ + static_cast<std::size_t>(offsets_.back()) * static_cast<std::size_t>(d_));
  result_.offsets = offsets_;
  return std::move(result_);
}

ForwardResult one_pass(const Weights& w, const PackedBatch& batch,
                       std::span<const std::vector<int>> keep, bool trace,
                       const InputObserver* observer) {
  Pass pass(w, batch, trace, observer);
  for (int l = 0; l < w.config.layers; ++l) {
    pass.layer(w.layers[static_cast<std::size_t>(l)], l, keep);
  }
  return pass.done();
}

}  // namespace

ForwardResult forward(const Weights& w, const PackedBatch& batch,
                      std::span<const std::vector<int>> keep, bool trace,
                      const InputObserver* observer) {
  const std::vector<int>& offsets = batch.offsets;
  const int sequences = static_cast<int>(offsets.size()) - 1;
  if (sequences <= 0 || pass_end(offsets, 0) == sequences) {
    return one_pass(w, batch, keep, trace, observer);
  }
  ForwardResult all;
  all.offsets = {0};
  all.offsets.reserve(offsets.size());
  // Room for every row, as if none were dropped: the passes' rows are appended without moving.
  all.hidden.reserve(static_cast<std::size_t>(offsets.back()) *
                     static_cast<std::size_t>(w.config.hidden));
  all.positions.reserve(static_cast<std::size_t>(offsets.back()));
  PackedBatch part;
  for (int first = 0, last = 0; first < sequences; first = last) {
    last = pass_end(offsets, first);
    part.ids.assign(batch.ids.begin() + offsets[first], batch.ids.begin() + offsets[last]);
    part.type_ids.assign(batch.type_ids.begin() + offsets[first],
                         batch.type_ids.begin() + offsets[last]);
    part.offsets.assign(offsets.begin() + first, offsets.begin() + last + 1);
    for (int& o : part.offsets) o -= offsets[first];
    ForwardResult r = one_pass(
        w, part,
        keep.subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(last - first)),
        trace, observer);
    const int rows = all.offsets.back();
    all.hidden.insert(all.hidden.end(), r.hidden.begin(), r.hidden.end());
    all.positions.insert(all.positions.end(), r.positions.begin(), r.positions.end());
    for (std::size_t s = 1; s < r.offsets.size(); ++s) all.offsets.push_back(rows + r.offsets[s]);
    for (auto& records : r.trace) all.trace.push_back(std::move(records));
  }
  return all;
}

std::vector<float> classify_head(const Weights& w, const ForwardResult& r) {
  const int d = w.config.hidden;
  const int sequences = static_cast<int>(r.offsets.size()) - 1;
  // The pooled row of each sequence: its first, or the mean of its (kept) rows.
  std::vector<float> pooled(static_cast<std::size_t>(sequences) * d, 0.f);
  for (int s = 0; s < sequences; ++s) {
    float* out = pooled.data() + std::int64_t{s} * d;
    const int first = r.offsets[s], last = w.config.head_mean ? r.offsets[s + 1] : first + 1;
    for (int row = first; row < last; ++row) {
      const float* in = r.hidden.data() + std::int64_t{row} * d;
      for (int j = 0; j < d; ++j) out[j] += in[j];
    }
    for (int j = 0; j < d; ++j) out[j] /= static_cast<float>(last - first);
  }
  std::vector<float> dense(pooled.size());
  (*w.head.dense)(kernels::f32_rows(pooled.data(), d), sequences,
                  kernels::f32_rows(dense.data(), d));
  if (w.head.norm.present()) {
    kernels::loops().add_layer_norm(dense.data(), nullptr, nullptr, sequences, d,
                                    w.head.norm.gamma.data(), w.head.norm.beta.data(),
                                    w.config.layer_norm_eps, {});
  }
  const int labels = w.num_labels();
  std::vector<float> logits(static_cast<std::size_t>(sequences) * labels);
  (*w.head.out)(kernels::f32_rows(dense.data(), d), sequences,
                kernels::f32_rows(logits.data(), labels));
  return logits;
}

}  // namespace lat::model
