#pragma once

// lat's own loops over activations, compiled once per instruction set (loops.cpp, built three
// times with different flags) and chosen at run time for the CPU at hand. oneDNN dispatches its
// own kernels; these are the steps between its products.
#include <cstdint>
#include <vector>

#include "kernels/types.hpp"

namespace lat::kernels {

enum class Isa { kScalar, kAvx2, kAvx512 };

struct Loops {
  Isa isa;
  const char* name;  // "scalar", "avx2", "avx512"

  // One head's scores (n x n, unscaled) become P = softmax(scores * scale) row by row, in place,
  // and in the same pass over each row the ACC column sums: acc[j] += sum_i P[i, j].
  void (*softmax_acc)(float* scores, int n, float scale, float* acc);

  // x[r] = LayerNorm(x[r] + residual[r]) * gamma + beta for rows of width d; residual may be null.
  void (*add_layer_norm)(float* x, const float* residual, std::int64_t rows, int d,
                         const float* gamma, const float* beta, float eps);

  // x[r] /= ||x[r]||_2, rows of zeros stay zero.
  void (*l2_normalize)(float* x, std::int64_t rows, int d);
};

// What the CPU (and the operating system, which must save the wider registers) supports.
struct CpuFeatures {
  bool avx2 = false;    // with FMA and F16C
  bool avx512 = false;  // F, BW, VL and DQ
};
const CpuFeatures& cpu_features();

// The loops this process runs: the widest the CPU supports, or the one LAT_ISA names
// (scalar, avx2, avx512) when it is set; lat::Error if the CPU lacks what LAT_ISA asks for.
const Loops& loops();

// Every variant this CPU can run, narrowest first (the tests run each).
std::vector<const Loops*> supported_loops();

}  // namespace lat::kernels
