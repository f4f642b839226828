// peak_flops: this machine's fp32 matrix-multiply rate, from a large oneDNN sgemm.
//   peak_flops [THREADS] [SIZE]   prints GFLOP/s (median of 7 runs) as JSON
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <vector>

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : omp_get_num_procs();
  const dnnl_dim_t n = argc > 2 ? std::atol(argv[2]) : 2048;
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
