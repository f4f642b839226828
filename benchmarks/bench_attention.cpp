// bench_attention: the attention of `sequences` sequences of n tokens each, as a layer runs it
// (scores, softmax with ACC, context of every row), all-MiniLM-L6-v2's shape (12 heads of 32),
// fp32 and bf16, 2 threads, by one of three paths: oneDNN's batched products, one sequence at a
// time; lat's own per-head loops, every (sequence, head) in one parallel loop, where they cross
// sets kOwnLoopsUpTo in model/forward.cpp; or (bf16, on a CPU with AMX) scores, softmax and
// context from tiles 16 rows at a time, as model/forward.cpp runs long sequences there.
//   bench_attention [--benchmark_...]
#include <benchmark/benchmark.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/linear.hpp"
#include "kernels/onednn.hpp"

namespace {

using lat::kernels::DType;

void attention(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0)), sequences = static_cast<int>(state.range(1));
  const auto type = static_cast<DType>(state.range(2));
  const int path = static_cast<int>(state.range(3));
  const bool own = path == 1, tiles = path == 2;
  if (type == DType::kBF16 && !lat::kernels::onednn::has_bf16()) {
    state.SkipWithError("no bf16 products on this CPU");
    return;
  }
  const auto& loops = lat::kernels::loops();
  if (tiles && (type != DType::kBF16 || loops.scores_rows == nullptr)) {
    state.SkipWithError("tiles take bf16 on a CPU with AMX");
    return;
  }
  const int heads = 12, dh = 32, d = heads * dh, ld = 3 * d;
  omp_set_num_threads(2);
  const auto un = static_cast<std::size_t>(n), block = heads * un * un;
  std::vector<float> qkv(sequences * un * ld);
  for (std::size_t i = 0; i < qkv.size(); ++i) qkv[i] = 0.01f * static_cast<float>(i % 17) - 0.08f;
  std::vector<std::uint16_t> qkv16(qkv.size());
  const lat::kernels::Rows in{
      type, type == DType::kBF16 ? static_cast<void*>(qkv16.data()) : qkv.data(), ld};
  if (type == DType::kBF16) lat::kernels::convert(qkv.data(), sequences * n, ld, ld, in);
  std::vector<float> scores(sequences * block), acc(sequences * heads * un),
      out(sequences * un * d), scratch(2 * lat::kernels::head_scores_scratch(n, dh)),
      tile_scores(2 * lat::kernels::tile_scores_size(n));
  std::vector<std::uint16_t> packed(2 * lat::kernels::packed_keys_size(n, dh)),
      packed_values(2 * lat::kernels::packed_values_size(n, dh)),
      rows_probs(2 * lat::kernels::tile_probs_size(n));
  std::vector<std::uint16_t> probs16(scores.size());
  std::vector<int> rows(un);
  std::iota(rows.begin(), rows.end(), 0);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  const bool bf16 = type == DType::kBF16 && !own;
  const int chunk = sequences >= 2 ? heads : 1;  // as model/forward.cpp takes them
  for (auto _ : state) {
    if (!own && !tiles) {
      for (int s = 0; s < sequences; ++s) {
        lat::kernels::attention_scores(in.from(s * n), n, heads, dh, scores.data() + s * block);
      }
    }
#pragma omp parallel for schedule(dynamic, chunk)
    for (int t = 0; t < sequences * heads; ++t) {
      float* block_of = scores.data() + t * un * un;
      if (tiles) {
        const int thread = omp_get_thread_num();
        std::uint16_t* keys = packed.data() + thread * lat::kernels::packed_keys_size(n, dh);
        std::uint16_t* values =
            packed_values.data() + thread * lat::kernels::packed_values_size(n, dh);
        std::uint16_t* probs = rows_probs.data() + thread * lat::kernels::tile_probs_size(n);
        float* rows_of = tile_scores.data() + thread * lat::kernels::tile_scores_size(n);
        const lat::kernels::Rows seq = in.from(t / heads * n);
        loops.pack_keys(seq, n, heads, dh, t % heads, keys);
        loops.pack_values(seq, n, heads, dh, t % heads, values);
        loops.begin_tiles();
        for (int row = 0; row < n; row += lat::kernels::kTileRows) {
          const int count = std::min(lat::kernels::kTileRows, n - row);
          loops.scores_rows(seq, n, heads, dh, t % heads, row, keys, rows_of);
          loops.softmax_acc(rows_of, count, n, lat::kernels::tile_row_floats(n), scale,
                            acc.data() + t * un, probs);
          loops.context_rows(
              probs, n, values, dh, count,
              lat::kernels::f32_rows(out.data() + (t / heads * un + row) * d + t % heads * dh, d));
        }
        loops.end_tiles();
        continue;
      }
      if (own) {
        loops.head_scores(
            in.from(t / heads * n), n, heads, dh, t % heads, block_of,
            scratch.data() + omp_get_thread_num() * lat::kernels::head_scores_scratch(n, dh));
      }
      loops.softmax_acc(block_of, n, n, n, scale, acc.data() + t * un,
                        bf16 ? probs16.data() + t * un * un : nullptr);
      if (own) {
        loops.head_context(in.from(t / heads * n), n, heads, dh, t % heads, block_of, rows.data(),
                           n, lat::kernels::f32_rows(out.data() + t / heads * un * d, d));
      }
    }
    if (!own && !tiles) {
      for (int s = 0; s < sequences; ++s) {
        lat::kernels::attention_context(
            in.from(s * n), n, heads, dh,
            bf16 ? static_cast<const void*>(probs16.data() + s * block) : scores.data() + s * block,
            n, lat::kernels::f32_rows(out.data() + s * un * d, d));
      }
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetLabel(std::string(own     ? "own loops "
                             : tiles ? "tiles "
                                     : "oneDNN ") +
                 (type == DType::kBF16 ? "bf16" : "fp32"));
  state.counters["GFLOP/s"] = benchmark::Counter(4.0 * heads * dh * n * n * sequences,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = 2;
}

}  // namespace

BENCHMARK(attention)
    ->ArgsProduct({{4, 12, 25, 48, 64, 96, 120, 128, 500, 512}, {1, 32}, {0, 1}, {0, 1, 2}})
    ->ArgNames({"n", "sequences", "type", "path"})
    ->UseRealTime();
BENCHMARK_MAIN();
