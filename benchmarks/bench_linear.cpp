// bench_linear: one 384 x 1536 linear layer (all-MiniLM-L6-v2's feed-forward shape) at a few row
// counts, with its weights hot in cache (one matrix) or read from memory (24 matrices, 57 MB, used
// in turn) - the effect the FLOP cost model does not count.
//   bench_linear [--benchmark_...]
#include <benchmark/benchmark.h>
#include <omp.h>

#include <memory>
#include <vector>

#include "kernels/linear.hpp"

namespace {

void linear(benchmark::State& state) {
  const auto rows = state.range(0);
  const auto matrices = static_cast<std::size_t>(state.range(1));
  const int in = 384, out = 1536;
  omp_set_num_threads(2);
  std::vector<std::unique_ptr<lat::kernels::Linear>> layers;
  const std::vector<float> w(static_cast<std::size_t>(in * out), 0.01f), b(out, 0.f);
  for (std::size_t i = 0; i < matrices; ++i) {
    layers.push_back(std::make_unique<lat::kernels::Linear>(w, b, in, out));
  }
  std::vector<float> x(static_cast<std::size_t>(rows * in), 1.f),
      y(static_cast<std::size_t>(rows * out));
  std::size_t next = 0;
  for (auto _ : state) {
    (*layers[next])(lat::kernels::f32_rows(x.data(), in), rows,
                    lat::kernels::f32_rows(y.data(), out));
    next = (next + 1) % matrices;
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(rows) * in * out,
                                                 benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
  state.counters["threads"] = 2;
}

}  // namespace

BENCHMARK(linear)
    ->ArgsProduct({{4, 8, 32, 128}, {1, 24}})
    ->ArgNames({"rows", "matrices"})
    ->UseRealTime();
BENCHMARK_MAIN();
