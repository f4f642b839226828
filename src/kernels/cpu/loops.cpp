// lat's own loops, compiled once per instruction set: CMake builds this file three times, with
// LAT_ISA naming the variant (scalar, avx2, avx512) and the matching -m flags, and dispatch.cpp
// picks one at run time. Plain loops that the compiler vectorises for the flags at hand.
//
// No standard-library templates or inline functions here, only builtins: an out-of-line copy of
// one would be compiled for this instruction set, and the linker may pick that copy for the whole
// library, which would then fault on a CPU without it.
#include "kernels/cpu/loops.hpp"

#include <cstdint>

#if !defined(LAT_ISA) || !defined(LAT_ISA_ENUM)
#error "LAT_ISA and LAT_ISA_ENUM must name the instruction set this file is compiled for"
#endif
#define LAT_STRING_OF(x) #x
#define LAT_NAME_OF(x) LAT_STRING_OF(x)

namespace lat::kernels::LAT_ISA {
namespace {

inline float max_of(float a, float b) { return a > b ? a : b; }

// exp(x) for x <= 0, the arguments of a softmax after its maximum is subtracted (and small
// positive ones). Plain arithmetic so that loops over it vectorise; relative error about 1e-7.
// Below -87 it returns 2^-126.
inline float exp_nonpositive(float x) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  x = max_of(x, -87.0f);
  const float shifted = x * 1.44269504088896341f + kShift;
  const float n = shifted - kShift;                                               // round(x / ln 2)
  const float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;  // |r| <= ln2/2
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const std::int32_t exponent =
      __builtin_bit_cast(std::int32_t, shifted) - __builtin_bit_cast(std::int32_t, kShift);
  return p * __builtin_bit_cast(float, (exponent + 127) << 23);
}

// The largest of n floats, as a vector max.
inline float row_max(const float* row, int n) {
  float max = -__builtin_inff();
#pragma omp simd reduction(max : max)
  for (int j = 0; j < n; ++j) max = max_of(max, row[j]);
  return max;
}

void softmax_acc(float* scores, int n, float scale, float* acc) {
  for (int i = 0; i < n; ++i) {
    float* row = scores + static_cast<std::int64_t>(i) * n;
    const float max = row_max(row, n);
    float sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; ++j) {
      row[j] = exp_nonpositive((row[j] - max) * scale);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      row[j] *= inv;
      acc[j] += row[j];  // ACC: the column sums, in the same pass
    }
  }
}

void add_layer_norm(float* x, const float* residual, std::int64_t rows, int d, const float* gamma,
                    const float* beta, float eps) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    float sum = 0.f;
    if (residual != nullptr) {
      const float* res = residual + r * d;
#pragma omp simd reduction(+ : sum)
      for (int i = 0; i < d; ++i) {
        row[i] += res[i];
        sum += row[i];
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (int i = 0; i < d; ++i) sum += row[i];
    }
    const float mean = sum / static_cast<float>(d);
    float squares = 0.f;  // of the centred values: no cancellation
#pragma omp simd reduction(+ : squares)
    for (int i = 0; i < d; ++i) squares += (row[i] - mean) * (row[i] - mean);
    const float inv = 1.0f / __builtin_sqrtf(squares / static_cast<float>(d) + eps);
#pragma omp simd
    for (int i = 0; i < d; ++i) row[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
  }
}

void l2_normalize(float* x, std::int64_t rows, int d) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    double ss = 0;
    for (int i = 0; i < d; ++i) ss += static_cast<double>(row[i]) * row[i];
    // sentence-transformers divides by max(norm, 1e-12)
    double norm = __builtin_sqrt(ss);
    norm = norm > 1e-12 ? norm : 1e-12;
    for (int i = 0; i < d; ++i) row[i] = static_cast<float>(row[i] / norm);
  }
}

}  // namespace

extern const Loops table;
const Loops table{
    .isa = Isa::LAT_ISA_ENUM,
    .name = LAT_NAME_OF(LAT_ISA),
    .softmax_acc = softmax_acc,
    .add_layer_norm = add_layer_norm,
    .l2_normalize = l2_normalize,
};

}  // namespace lat::kernels::LAT_ISA
