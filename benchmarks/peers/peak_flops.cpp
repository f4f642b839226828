// peak_flops: this machine's fp32 matrix-multiply rate, from a large oneDNN sgemm.
//   peak_flops [THREADS] [SIZE]   prints GFLOP/s (median of 7 runs) as JSON
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <limits>
#include <string>
#include <vector>

#include "flags.hpp"

namespace {

[[noreturn]] void fail(const std::string& problem) {
  std::fprintf(stderr, "peak_flops: %s\nusage: peak_flops [THREADS] [SIZE]\n", problem.c_str());
  std::exit(2);
}

// The positional argument `index` (THREADS or SIZE), a whole number of at least 1, or `fallback`.
int whole_argument(int argc, char** argv, int index, const char* name, int fallback) {
  if (argc <= index) return fallback;
  try {
    const auto v = lat::cli::read_integer(argv[index]);
    if (v < 1) throw lat::cli::BadValue("must be at least 1");
    if (v > std::numeric_limits<int>::max()) throw lat::cli::BadValue("out of range");
    return static_cast<int>(v);
  } catch (const lat::cli::BadValue& e) {
    fail(lat::cli::value_error(name, argv[index], e.what()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) fail(std::string("unexpected argument ") + argv[3]);
  const int threads = whole_argument(argc, argv, 1, "THREADS", omp_get_num_procs());
  const dnnl_dim_t n = whole_argument(argc, argv, 2, "SIZE", 2048);
  omp_set_num_threads(threads);
  std::vector<float> a(static_cast<std::size_t>(n * n), 1.0f), b(a), c(a.size());
  std::vector<double> rates;
  for (int run = 0; run < 8; ++run) {
    const auto start = std::chrono::steady_clock::now();
    if (dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n) !=
        dnnl_success) {
      std::fprintf(stderr, "peak_flops: sgemm failed\n");
      return 1;
    }
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run > 0)
      rates.push_back(2.0 * double(n) * double(n) * double(n) / s / 1e9);  // first: warm-up
  }
  std::sort(rates.begin(), rates.end());
  std::printf("{\"threads\": %d, \"size\": %ld, \"gflops\": %.1f}\n", threads, static_cast<long>(n),
              rates[rates.size() / 2]);
  return 0;
}
