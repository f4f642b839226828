// peak_flops: this machine's matrix-multiply rates, from large oneDNN matrix products: fp32,
// bf16 (bf16 inputs, fp32 sums) and int8 (uint8 by int8, int32 sums), each in the weight layout
// oneDNN prefers, as lat's products have theirs.
//   peak_flops [THREADS] [SIZE]   prints GFLOP/s of each (median of 7 runs) as JSON; a precision
//                                 oneDNN has only its reference kernel for is null
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

// The median rate of SIZE x SIZE x SIZE products of `src` and `weights` types (fp32 out), in
// GFLOP/s; 0 where oneDNN has no kernel for them on this CPU.
double rate(dnnl::memory::data_type src, dnnl::memory::data_type weights, dnnl::memory::dim n) {
  using dnnl::memory;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc a_desc({n, n}, src, memory::format_tag::ab);
  const memory::desc b_any({n, n}, weights, memory::format_tag::any);
  const memory::desc c_desc({n, n}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::matmul::primitive_desc pd;
  try {
#if DNNL_VERSION_MAJOR >= 3
    pd = dnnl::matmul::primitive_desc(engine, a_desc, b_any, c_desc);
#else
    pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(a_desc, b_any, c_desc), engine);
#endif
  } catch (const dnnl::error&) {
    return 0;
  }
  // A reference kernel ("ref") is no peak: report none.
  if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return 0;
  memory a(a_desc, engine), b(pd.weights_desc(), engine), c(c_desc, engine);
  std::fill_n(static_cast<std::byte*>(a.get_data_handle()), a_desc.get_size(), std::byte{1});
  std::fill_n(static_cast<std::byte*>(b.get_data_handle()), pd.weights_desc().get_size(),
              std::byte{1});
  const dnnl::matmul product(pd);
  std::vector<double> rates;
  for (int run = 0; run < 8; ++run) {
    const auto start = std::chrono::steady_clock::now();
    product.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (run > 0) rates.push_back(2.0 * double(n) * double(n) * double(n) / s / 1e9);  // 0: warm-up
  }
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

std::string json_rate(double gflops) {
  if (gflops <= 0) return "null";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", gflops);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 3) fail(std::string("unexpected argument ") + argv[3]);
  const int threads = whole_argument(argc, argv, 1, "THREADS", omp_get_num_procs());
  const dnnl::memory::dim n = whole_argument(argc, argv, 2, "SIZE", 2048);
  omp_set_num_threads(threads);
  using dt = dnnl::memory::data_type;
  const double fp32 = rate(dt::f32, dt::f32, n);
  const double bf16 = rate(dt::bf16, dt::bf16, n);
  const double int8 = rate(dt::u8, dt::s8, n);
  std::printf(
      "{\"threads\": %d, \"size\": %ld, \"gflops\": %s, \"bf16_gflops\": %s, "
      "\"int8_gops\": %s}\n",
      threads, static_cast<long>(n), json_rate(fp32).c_str(), json_rate(bf16).c_str(),
      json_rate(int8).c_str());
  return 0;
}
