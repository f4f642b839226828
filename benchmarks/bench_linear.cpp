// bench_linear: one 384 x 1536 linear layer (all-MiniLM-L6-v2's feed-forward shape) at a few row
// counts and each precision, with its weights hot in cache (one matrix) or read from memory (24
// matrices, used in turn) - the effect the FLOP cost model does not count - and at 424 rows, a
// count that oneDNN's bf16 and int8 kernels multiply slowly unless Linear splits it. Then
// MiniLM's four product shapes at bf16 and int8, at row counts such as pruned layers and packed
// batches meet (the cases named "uneven").
//   bench_linear [--benchmark_...]
#include <benchmark/benchmark.h>
#include <omp.h>

#include <memory>
#include <vector>

#include "kernels/cpu/loops.hpp"
#include "kernels/linear.hpp"

namespace {

void linear(benchmark::State& state) {
  const auto rows = state.range(0);
  const auto matrices = static_cast<std::size_t>(state.range(1));
  const auto precision = static_cast<lat::Precision>(state.range(2));
  const int in = static_cast<int>(state.range(3)), out = static_cast<int>(state.range(4));
  omp_set_num_threads(2);
  std::vector<std::unique_ptr<lat::kernels::Linear>> layers;
  std::vector<float> w(static_cast<std::size_t>(in * out)), b(out, 0.f);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = 0.01f * static_cast<float>(i % 7) - 0.03f;
  for (std::size_t i = 0; i < matrices; ++i) {
    layers.push_back(std::make_unique<lat::kernels::Linear>(w, b, in, out, precision));
  }
  // The input in the form the product reads.
  std::vector<float> x(static_cast<std::size_t>(rows * in)), x_in(x.size()),
      y(static_cast<std::size_t>(rows * out));
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = 0.1f * static_cast<float>(i % 13) - 0.6f;
  std::vector<lat::kernels::RowCode> codes(static_cast<std::size_t>(rows));
  const lat::kernels::Rows input{layers[0]->input_type(), x_in.data(), in, codes.data()};
  lat::kernels::convert(x.data(), rows, in, in, input);
  std::size_t next = 0;
  for (auto _ : state) {
    (*layers[next])(input, rows, lat::kernels::f32_rows(y.data(), out));
    next = (next + 1) % matrices;
  }
  state.SetLabel(lat::to_string(precision));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows) * in * out,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = 2;
}

}  // namespace

BENCHMARK(linear)
    ->ArgsProduct({{4, 8, 32, 128, 424, 512}, {1, 24}, {0, 1, 2}, {384}, {1536}})
    ->ArgNames({"rows", "matrices", "precision", "in", "out"})
    ->UseRealTime();

const std::vector<std::int64_t> kUneven = {52,  53,  60,  61,  100, 150, 200, 250,  295,
                                           337, 415, 424, 464, 472, 496, 512, 1000, 2000};
#define LAT_UNEVEN(in, out)                                      \
  BENCHMARK(linear)                                              \
      ->Name("uneven")                                           \
      ->ArgsProduct({kUneven, {24}, {1, 2}, {in}, {out}})        \
      ->ArgNames({"rows", "matrices", "precision", "in", "out"}) \
      ->UseRealTime()
LAT_UNEVEN(384, 1152);  // Q, K and V
LAT_UNEVEN(384, 384);   // the attention's output
LAT_UNEVEN(384, 1536);  // the feed-forward's two
LAT_UNEVEN(1536, 384);
BENCHMARK_MAIN();
