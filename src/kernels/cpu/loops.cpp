// lat's own loops, compiled once per instruction set: CMake builds this file four times, with
// LAT_ISA naming the variant (scalar, avx2, avx512, amx) and the matching -m flags, and
// dispatch.cpp picks one at run time. Plain loops that the compiler vectorises for the flags at
// hand, and AVX-512's intrinsics where those loops leave time behind.
//
// No standard-library templates or inline functions here, only builtins: an out-of-line copy of
// one would be compiled for this instruction set, and the linker may pick that copy for the whole
// library, which would then fault on a CPU without it.
#include <omp.h>

#include <cstdint>
#include <cstring>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "kernels/cpu/loops.hpp"

#if !defined(LAT_ISA) || !defined(LAT_ISA_ENUM)
#error "LAT_ISA and LAT_ISA_ENUM must name the instruction set this file is compiled for"
#endif
#define LAT_STRING_OF(x) #x
#define LAT_NAME_OF(x) LAT_STRING_OF(x)

namespace lat::kernels::LAT_ISA {
namespace {

inline float max_of(float a, float b) { return a > b ? a : b; }
inline float min_of(float a, float b) { return a < b ? a : b; }
inline float abs_of(float a) { return __builtin_fabsf(a); }

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

// Round to nearest, ties to even, for |x| < 2^22: the sum drops the fraction bits.
inline float round_even(float x) {
  constexpr float kShift = 12582912.0f;
  return (x + kShift) - kShift;
}

// fp32 to bf16, rounding to nearest even; NaN stays NaN.
inline std::uint16_t bf16_of(float f) {
  const std::uint32_t u = __builtin_bit_cast(std::uint32_t, f);
  const std::uint32_t rounded = u + 0x7fffu + ((u >> 16) & 1u);
  const std::uint32_t bits = (u & 0x7fffffffu) > 0x7f800000u ? (u | 0x00400000u) : rounded;
  return static_cast<std::uint16_t>(bits >> 16);
}

// tanh from one exponential of a non-positive argument; absolute error about 1e-7.
inline float tanh_of(float y) {
  const float e = exp_nonpositive(-2.0f * abs_of(y));
  const float t = (1.0f - e) / (1.0f + e);
  return y < 0 ? -t : t;
}

// x Phi(x) = x (1 + erf(x / sqrt 2)) / 2, with erf(t) = t P(t^2) / Q(t^2) on |t| <= 3.9 (a
// rational fit made for this, tools/reference/fit_erf.py: error below 4e-7) and +-1 beyond it
// (erf(3.9) = 1 - 3.5e-8). No exponential: one division and ten multiply-adds.
inline float gelu_erf(float x) {
  const float t = max_of(-3.9f, min_of(3.9f, x * 0.70710678118654752f));
  const float u = t * t;
  float p = 2.06511163e-06f;
  p = p * u + 0.000285997667f;
  p = p * u + 0.00376625243f;
  p = p * u + 0.0527510308f;
  p = p * u + 0.19027631f;
  p = p * u + 1.12837911f;
  float q = 3.83064253e-05f;
  q = q * u + 0.00116481225f;
  q = q * u + 0.0149683198f;
  q = q * u + 0.114073612f;
  q = q * u + 0.501960337f;
  q = q * u + 1.0f;
  return 0.5f * x * (1.0f + t * p / q);
}

inline float gelu_tanh(float x) {
  return 0.5f * x * (1.0f + tanh_of(0.79788456080286536f * (x + 0.044715f * x * x * x)));
}

// The largest of n floats: of the values (kAll), or of their magnitudes (kAbs). Four vectors of
// partial maxima, as one would wait on each comparison before the next; then whole vectors, and
// fewer than 16 values one by one.
enum Of { kAll, kAbs };
template <Of kOf>
inline float lane_max(const float* row, int n) {
  constexpr int kWidth = 16;
  constexpr float kNone = kOf == kAll ? -__builtin_inff() : 0.0f;
  float part[4][kWidth];
  for (int a = 0; a < 4; ++a) {
    for (int l = 0; l < kWidth; ++l) part[a][l] = kNone;
  }
  auto value = [row](int j) { return kOf == kAbs ? abs_of(row[j]) : row[j]; };
  int j = 0;
  for (; j + 4 * kWidth <= n; j += 4 * kWidth) {
#pragma omp simd
    for (int l = 0; l < kWidth; ++l) {
      part[0][l] = max_of(part[0][l], value(j + l));
      part[1][l] = max_of(part[1][l], value(j + kWidth + l));
      part[2][l] = max_of(part[2][l], value(j + 2 * kWidth + l));
      part[3][l] = max_of(part[3][l], value(j + 3 * kWidth + l));
    }
  }
  for (; j + kWidth <= n; j += kWidth) {
#pragma omp simd
    for (int l = 0; l < kWidth; ++l) part[0][l] = max_of(part[0][l], value(j + l));
  }
  float max = kNone;
#pragma omp simd reduction(max : max)
  for (int l = 0; l < kWidth; ++l) {
    max = max_of(max, max_of(max_of(part[0][l], part[1][l]), max_of(part[2][l], part[3][l])));
  }
  for (; j < n; ++j) max = max_of(max, value(j));
  return max;
}

// An epilogue as a function of one value, for loops that apply it as they make each value.
template <Epilogue kE>
inline float activated(float x) {
  if constexpr (kE == Epilogue::kGeluErf) return gelu_erf(x);
  if constexpr (kE == Epilogue::kGeluTanh) return gelu_tanh(x);
  if constexpr (kE == Epilogue::kRelu) return max_of(x, 0.0f);
  if constexpr (kE == Epilogue::kTanh) return tanh_of(x);
  return x;
}

// Calls f(As<kE>{}) for the epilogue e, so that f's loops are compiled for each one.
template <Epilogue kE>
struct As {};
template <typename F>
inline void with_epilogue(Epilogue e, F f) {
  switch (e) {
    case Epilogue::kNone:
      return f(As<Epilogue::kNone>{});
    case Epilogue::kGeluErf:
      return f(As<Epilogue::kGeluErf>{});
    case Epilogue::kGeluTanh:
      return f(As<Epilogue::kGeluTanh>{});
    case Epilogue::kRelu:
      return f(As<Epilogue::kRelu>{});
    case Epilogue::kTanh:
      return f(As<Epilogue::kTanh>{});
  }
}

void apply(Epilogue e, float* v, int n) {
  with_epilogue(e, [&]<Epilogue kE>(As<kE>) {
#pragma omp simd
    for (int j = 0; j < n; ++j) v[j] = activated<kE>(v[j]);
  });
}

// The sum of a row's squares, as four interleaved vector sums so that the additions do not wait
// on one another.
inline float sum_of_squares(const float* x, int cols) {
  float sq[4][16] = {};
  int j0 = 0;
  for (; j0 + 64 <= cols; j0 += 64) {
    for (int p = 0; p < 4; ++p) {
#pragma omp simd
      for (int l = 0; l < 16; ++l) sq[p][l] += x[j0 + 16 * p + l] * x[j0 + 16 * p + l];
    }
  }
  float squares = 0.f;
  for (int j = j0; j < cols; ++j) squares += x[j] * x[j];
  for (int l = 0; l < 16; ++l) squares += sq[0][l] + sq[1][l] + sq[2][l] + sq[3][l];
  return squares;
}

// Whether rows written to out are coded by their own values (dynamic uint8), for which a row's
// producer passes the sum of its squares.
inline bool codes_own_rows(const Rows& out) {
  return out.type == DType::kU8 && out.fixed == nullptr;
}

struct Range {
  float lo, hi;
};

#if defined(__AVX512F__)
// The largest (kHigh) or smallest (kLow) of a vector's lanes, or their sum (kSum), by halving
// it four times. (The masked forms of the intrinsics, all lanes set: GCC 12 warns of the unmasked
// ones' undefined pass-through operand.)
enum Fold { kHigh, kLow, kSum };
template <Fold kFold>
inline float lane_fold(__m512 v) {
  constexpr __mmask16 kAll16 = 0xffff;
  auto fold = [](__m512 a, __m512 b) {
    if constexpr (kFold == kSum) return _mm512_mask_add_ps(a, kAll16, a, b);
    return kFold == kHigh ? _mm512_mask_max_ps(a, kAll16, a, b)
                          : _mm512_mask_min_ps(a, kAll16, a, b);
  };
  v = fold(v, _mm512_mask_shuffle_f32x4(v, kAll16, v, v, 0x4e));  // the other 256 bits
  v = fold(v, _mm512_mask_shuffle_f32x4(v, kAll16, v, v, 0xb1));  // the other 128 of each 256
  v = fold(v, _mm512_mask_permute_ps(v, kAll16, v, 0x4e));        // the other 64 of each 128
  v = fold(v, _mm512_mask_permute_ps(v, kAll16, v, 0xb1));        // the other lane of each pair
  return _mm512_cvtss_f32(v);
}
#endif

// A row's outliers into code: its values of magnitude at least kOutlierRms times its root mean
// square, the largest kOutliers of them if there are more (ties to the earlier column), largest
// first; rows of 16 values or fewer have none. Returns the range of its other values together
// with 0, found in the same pass: values at or beyond the threshold are rare, and those not kept
// are taken into the range as they are dropped.
constexpr float kOutlierRms = 4.0f;
Range outliers_and_range(const float* x, int cols, float squares, RowCode& code) {
  // With no outliers possible the threshold is NaN, which no magnitude reaches.
  const float t = cols <= 16 || !(squares > 0.f)
                      ? __builtin_nanf("")
                      : kOutlierRms * __builtin_sqrtf(squares / static_cast<float>(cols));
  Range range{0.f, 0.f};
  auto into_range = [&](float v) {
    range.hi = max_of(range.hi, v);
    range.lo = min_of(range.lo, v);
  };
  int found = 0;
  // Out of line: it runs for a few values a row, and would keep the loops' vectors from registers.
  auto take = [&](int j) __attribute__((noinline)) {
    const float a = abs_of(x[j]);
    if (found == RowCode::kOutliers && !(a > abs_of(code.value[found - 1]))) {
      into_range(x[j]);
      return;
    }
    if (found == RowCode::kOutliers) into_range(code.value[found - 1]);
    int at = found == RowCode::kOutliers ? found - 1 : found++;
    for (; at > 0 && a > abs_of(code.value[at - 1]); --at) {
      code.column[at] = code.column[at - 1];
      code.value[at] = code.value[at - 1];
    }
    code.column[at] = j;
    code.value[at] = x[j];
  };
  // Once every slot is taken, only a value larger than the smallest kept can be kept: the
  // threshold rises to it, and values below it go straight into the range.
  auto threshold_now = [&] {
    return found == RowCode::kOutliers ? max_of(t, abs_of(code.value[found - 1])) : t;
  };
  int j0 = 0;
#if defined(__AVX512F__)
  // Two vectors a step, with a range each, so that each max and min waits on the one before it
  // only every other step; the values at or beyond the threshold are left out of it.
  __m512 threshold = _mm512_set1_ps(t);
  __m512 hi0 = _mm512_setzero_ps(), hi1 = hi0, lo0 = hi0, lo1 = hi0;
  auto step = [&threshold](const float* at, __m512& hi, __m512& lo) {
    const __m512 v = _mm512_loadu_ps(at);
    const __mmask16 beyond = _mm512_cmp_ps_mask(_mm512_abs_ps(v), threshold, _CMP_GE_OQ);
    const auto below = static_cast<__mmask16>(~beyond);
    hi = _mm512_mask_max_ps(hi, below, hi, v);
    lo = _mm512_mask_min_ps(lo, below, lo, v);
    return static_cast<unsigned>(beyond);
  };
  for (; j0 + 32 <= cols; j0 += 32) {
    const unsigned beyond = step(x + j0, hi0, lo0) | step(x + j0 + 16, hi1, lo1) << 16;
    if (beyond == 0) continue;
    for (unsigned m = beyond; m != 0; m &= m - 1) take(j0 + __builtin_ctz(m));
    threshold = _mm512_set1_ps(threshold_now());
  }
  into_range(max_of(lane_fold<kHigh>(hi0), lane_fold<kHigh>(hi1)));
  into_range(min_of(lane_fold<kLow>(lo0), lane_fold<kLow>(lo1)));
#elif defined(__AVX2__)
  __m256 threshold = _mm256_set1_ps(t);
  const __m256 magnitude = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 hi = _mm256_setzero_ps(), lo = hi;
  for (; j0 + 8 <= cols; j0 += 8) {
    const __m256 v = _mm256_loadu_ps(x + j0);
    const __m256 a = _mm256_and_ps(v, magnitude);
    // Values below the threshold as they are, the others as 0, which the range holds anyway.
    const __m256 below = _mm256_and_ps(v, _mm256_cmp_ps(a, threshold, _CMP_NGE_UQ));
    hi = _mm256_max_ps(hi, below);
    lo = _mm256_min_ps(lo, below);
    auto m = static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(a, threshold, _CMP_GE_OQ)));
    if (m == 0) continue;
    for (; m != 0; m &= m - 1) take(j0 + __builtin_ctz(m));
    threshold = _mm256_set1_ps(threshold_now());
  }
  float lanes[2][8];
  _mm256_storeu_ps(lanes[0], hi);
  _mm256_storeu_ps(lanes[1], lo);
  for (int l = 0; l < 8; ++l) {
    into_range(lanes[0][l]);
    into_range(lanes[1][l]);
  }
#endif
  for (int j = j0; j < cols; ++j) {
    if (abs_of(x[j]) >= threshold_now()) {
      take(j);
    } else {
      into_range(x[j]);
    }
  }
  code.outliers = found;
  return range;
}

// One fp32 row as uint8 codes (see RowCode), given the sum of its squares. The outliers' codes
// are `zero`, the code of 0.
void encode_row(const float* x, int cols, std::uint8_t* y, RowCode& code, float squares) {
  const Range range = outliers_and_range(x, cols, squares, code);
  code.scale = (range.hi - range.lo) / 255.0f;
  const float inv = code.scale > 0 ? 1.0f / code.scale : 0.0f;
  code.zero = static_cast<std::int32_t>(round_even(-range.lo * inv));
  // The outliers fall beyond the range and saturate here; NaN becomes 0.
  int j0 = 0;
#if defined(__AVX512F__)
  // Converted to integers rounding to nearest even (the default mode), saturated into bytes.
  // (The masked forms, all lanes set, as in lane_fold.)
  constexpr __mmask16 kAll16 = 0xffff;
  const __m512 scale_inv = _mm512_set1_ps(inv);
  const __m512i zero_code = _mm512_set1_epi32(code.zero), none = _mm512_setzero_si512();
  for (; j0 + 16 <= cols; j0 += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + j0), scale_inv);
    const __m512i q = _mm512_add_epi32(_mm512_mask_cvtps_epi32(none, kAll16, v), zero_code);
    _mm512_mask_cvtusepi32_storeu_epi8(y + j0, kAll16, _mm512_mask_max_epi32(q, kAll16, q, none));
  }
#endif
  const auto zero = static_cast<float>(code.zero);
#pragma omp simd
  for (int j = j0; j < cols; ++j) {
    y[j] = static_cast<std::uint8_t>(min_of(max_of(round_even(x[j] * inv) + zero, 0.0f), 255.0f));
  }
  for (int i = 0; i < code.outliers; ++i) y[code.column[i]] = static_cast<std::uint8_t>(code.zero);
}

// One fp32 row as uint8 codes under a fixed code (int8-static, FixedCode): the outlier columns'
// values are kept and their codes set to `zero`. Values beyond the code's range take the free
// outlier slots too, largest first (rare: calibration sets the range); any left saturate.
void encode_row_fixed(const float* x, int cols, std::uint8_t* y, RowCode& code,
                      const FixedCode& fixed) {
  code = fixed.code;
  const float* inverse = fixed.inverse.data();
  const auto zero = static_cast<float>(fixed.code.zero);
  int beyond = 0;
#pragma omp simd reduction(+ : beyond)
  for (int j = 0; j < cols; ++j) {
    const float q = round_even(x[j] * inverse[j]) + zero;
    beyond += (q < 0.0f) | (q > 255.0f);
    // NaN meets neither comparison and becomes 0.
    y[j] = static_cast<std::uint8_t>(min_of(max_of(q, 0.0f), 255.0f));
  }
  const int kept = code.outliers;
  for (int i = 0; i < kept; ++i) {  // the fixed columns are not beyond: they pass exactly
    const int j = code.column[i];
    const float q = round_even(x[j] * inverse[j]) + zero;
    if ((q < 0.0f) | (q > 255.0f)) --beyond;
  }
  // The values beyond: in blocks of 64 columns, only those with a code at either end are looked
  // at one by one.
  for (int j0 = 0; beyond > 0 && j0 < cols; j0 += 64) {
    const int end = j0 + 64 < cols ? j0 + 64 : cols;
    int ends = 0;
#pragma omp simd reduction(+ : ends)
    for (int j = j0; j < end; ++j) ends += (y[j] == 0) | (y[j] == 255);
    for (int j = j0; ends > 0 && j < end; ++j) {
      if (y[j] != 0 && y[j] != 255) continue;
      --ends;
      const float q = round_even(x[j] * inverse[j]) + zero;
      if (!((q < 0.0f) | (q > 255.0f))) continue;
      bool fixed_column = false;
      for (int i = 0; i < kept; ++i) fixed_column = fixed_column || code.column[i] == j;
      if (fixed_column) continue;
      --beyond;
      const float v = x[j] * inverse[j] * code.scale;
      if (code.outliers == RowCode::kOutliers &&
          !(abs_of(v) > abs_of(code.value[code.outliers - 1])))
        continue;
      int at = code.outliers == RowCode::kOutliers ? code.outliers - 1 : code.outliers++;
      if (at < kept) continue;  // every free slot holds a larger value
      for (; at > kept && abs_of(v) > abs_of(code.value[at - 1]); --at) {
        code.column[at] = code.column[at - 1];
        code.value[at] = code.value[at - 1];
      }
      code.column[at] = j;
      code.value[at] = v;
    }
  }
  for (int i = 0; i < code.outliers; ++i) {
    const int j = code.column[i];
    if (i < kept) code.value[i] = x[j] * inverse[j] * code.scale;
    y[j] = static_cast<std::uint8_t>(code.zero);
  }
}

// One fp32 row into row `r` of out, in its type; `squares`, the sum of the row's squares, is read
// only where codes_own_rows(out).
void store_row(const float* x, int cols, const Rows& out, std::int64_t r, float squares) {
  switch (out.type) {
    case DType::kF32: {
      float* y = static_cast<float*>(out.data) + r * out.ld;
      if (y != x) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(cols));
      return;
    }
    case DType::kBF16: {
      std::uint16_t* y = static_cast<std::uint16_t*>(out.data) + r * out.ld;
#pragma omp simd
      for (int j = 0; j < cols; ++j) y[j] = bf16_of(x[j]);
      return;
    }
    case DType::kU8: {
      std::uint8_t* y = static_cast<std::uint8_t*>(out.data) + r * out.ld;
      if (out.fixed != nullptr) {
        encode_row_fixed(x, cols, y, out.codes[r], *out.fixed);
      } else {
        encode_row(x, cols, y, out.codes[r], squares);
      }
      return;
    }
  }
}

// One row of exponentials divided by their sum (1 / inv), into P: in place, or rounded to bf16
// into probs_bf16; and ACC's column sums of them, from the fp32 values.
inline void normalize_row(float* row, int n, float inv, float* acc, std::uint16_t* probs_bf16) {
#if defined(__AVX512BF16__)
  // The CPU's own rounding to bf16 (to nearest even, as bf16_of; below fp32's normal range, 0).
  int whole = 0;
  if (probs_bf16 != nullptr) {
    const __m512 by = _mm512_set1_ps(inv);
    for (; whole + 16 <= n; whole += 16) {
      const __m512 p = _mm512_mul_ps(_mm512_loadu_ps(row + whole), by);
      _mm512_storeu_ps(acc + whole, _mm512_add_ps(_mm512_loadu_ps(acc + whole), p));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(probs_bf16 + whole),
                          reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(p)));
    }
  }
  row += whole;
  acc += whole;
  n -= whole;
  if (probs_bf16 != nullptr) probs_bf16 += whole;
#endif
  if (probs_bf16 != nullptr) {
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      const float p = row[j] * inv;
      acc[j] += p;
      probs_bf16[j] = bf16_of(p);
    }
  } else {
#pragma omp simd
    for (int j = 0; j < n; ++j) {
      row[j] *= inv;
      acc[j] += row[j];
    }
  }
}

#if defined(__AVX512F__)
// exp(x) of 16 values as 2^t, t = x log2(e) (at most 0 and a little above): 2^round(t) from the
// CPU's scale instruction, 2^f of the rest (|f| <= 1/2) from its Taylor polynomial, relative
// error about 2e-7. Where t < -100 (and where it is NaN), 0: such a term is nothing beside the
// row's largest, 1, and its probability could fall below fp32's normal range, where each
// product and sum with it costs the CPU a microcode assist.
inline __m512 exp2_vector(__m512 t) {
  constexpr __mmask16 kAll16 = 0xffff;
  const __mmask16 significant = _mm512_cmp_ps_mask(t, _mm512_set1_ps(-100.0f), _CMP_GE_OQ);
  const __m512 whole = _mm512_mask_roundscale_ps(t, kAll16, t, _MM_FROUND_TO_NEAREST_INT);
  const __m512 f = _mm512_sub_ps(t, whole);
  constexpr float kLn2 = 0.693147180559945309f;
  __m512 p = _mm512_set1_ps(kLn2 * kLn2 * kLn2 * kLn2 * kLn2 * kLn2 / 720);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLn2 * kLn2 * kLn2 * kLn2 * kLn2 / 120));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLn2 * kLn2 * kLn2 * kLn2 / 24));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLn2 * kLn2 * kLn2 / 6));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLn2 * kLn2 / 2));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kLn2));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps(significant, p, whole);
}
#endif

// A row's exponentials exp((x - max) scale), written over it, and their sum.
inline float row_exponentials(float* row, int n, float scale) {
  const float max = lane_max<kAll>(row, n);
#if defined(__AVX512F__)
  constexpr float kLog2e = 1.44269504088896341f;
  const int whole = n / 16 * 16;
  const auto tail = static_cast<__mmask16>((1u << (n - whole)) - 1);
  // (x - max) scale log2(e) as one multiply-add: the rounding of max's term is the same for the
  // whole row, and cancels in the division by the sum.
  const __m512 by = _mm512_set1_ps(scale * kLog2e), offset = _mm512_set1_ps(max * scale * kLog2e);
  __m512 sum = _mm512_setzero_ps();
  for (int j = 0; j < whole; j += 16) {
    const __m512 e = exp2_vector(_mm512_fmsub_ps(_mm512_loadu_ps(row + j), by, offset));
    _mm512_storeu_ps(row + j, e);
    sum = _mm512_add_ps(sum, e);
  }
  if (tail != 0) {
    const __m512 e =
        exp2_vector(_mm512_fmsub_ps(_mm512_maskz_loadu_ps(tail, row + whole), by, offset));
    _mm512_mask_storeu_ps(row + whole, tail, e);
    sum = _mm512_mask_add_ps(sum, tail, sum, e);
  }
  return lane_fold<kSum>(sum);
#else
  float sum = 0.f;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < n; ++j) {
    const float e = exp_nonpositive((row[j] - max) * scale);
    row[j] = e;
    sum += e;
  }
  return sum;
#endif
}

void softmax_acc(float* scores, int rows, int n, std::int64_t ld, float scale, float* acc,
                 std::uint16_t* probs_bf16) {
  auto probs_of = [&](int i) {
    return probs_bf16 == nullptr ? nullptr : probs_bf16 + static_cast<std::int64_t>(i) * n;
  };
  if (n >= 64) {  // rows of whole vectors: each row's exponentials and their sum in one pass,
                  // then its probabilities and ACC while it is in cache
    for (int i = 0; i < rows; ++i) {
      float* row = scores + i * ld;
      normalize_row(row, n, 1.0f / row_exponentials(row, n, scale), acc, probs_of(i));
    }
    return;
  }
  // Short rows go in groups of about 4,096 values, whose exponentials run as one loop over the
  // group: a row's own loop would leave a large part of it to the scalar remainder.
  const int group = 4096 / n;
  for (int first = 0; first < rows; first += group) {
    const int last = first + group < rows ? first + group : rows;
    float* block = scores + first * ld;
    for (int i = first; i < last; ++i) {
      float* row = scores + i * ld;
      const float max = lane_max<kAll>(row, n);
#pragma omp simd
      for (int j = 0; j < n; ++j) row[j] = (row[j] - max) * scale;
    }
    const std::int64_t values = (last - first) * ld;  // with the padding between rows
#pragma omp simd
    for (std::int64_t v = 0; v < values; ++v) block[v] = exp_nonpositive(block[v]);
    for (int i = first; i < last; ++i) {
      float* row = scores + i * ld;
      float sum = 0.f;
#pragma omp simd reduction(+ : sum)
      for (int j = 0; j < n; ++j) sum += row[j];
      normalize_row(row, n, 1.0f / sum, acc, probs_of(i));
    }
  }
}

inline float value_of(float x) { return x; }
inline float value_of(std::uint16_t x) {
  return __builtin_bit_cast(float, static_cast<std::uint32_t>(x) << 16);
}

// The attention products of one head work on blocks of kBlockRows rows by kCols columns, 32
// where there are as many (two vectors: each vector read serves 16 products), else 16, their
// sums held in registers; a tail block recomputes its last row rather than branch.
constexpr int kLanes = 16, kBlockRows = 8;

// sum[r][l] = sum over k < depth of a[r][k] B[k][l], for l < width (kCols when kFull: a full
// block's width is known, so its sums stay in registers). row_of_b(k, buffer) gives B's row k:
// in place, or converted into `buffer` (kCols floats).
template <int kCols, bool kFull, typename RowOfB>
inline void block_products(const float* const (&a)[kBlockRows], int depth, int width,
                           RowOfB row_of_b, float (&sum)[kBlockRows][kCols]) {
  const int w = kFull ? kCols : width;
  for (int r = 0; r < kBlockRows; ++r) {
#pragma omp simd
    for (int l = 0; l < kCols; ++l) sum[r][l] = 0.f;
  }
  float buffer[kCols];
  for (int k = 0; k < depth; ++k) {
    const float* b = row_of_b(k, buffer);
    for (int r = 0; r < kBlockRows; ++r) {
      const float x = a[r][k];
#pragma omp simd
      for (int l = 0; l < w; ++l) sum[r][l] += x * b[l];
    }
  }
}

// Rows i0... (rows of them) of sum into S (n x n), up to column n.
template <int kCols>
void store_scores(const float (&sum)[kBlockRows][kCols], int rows, int i0, int j0, int n,
                  float* s) {
  const int width = n - j0 < kCols ? n - j0 : kCols;
  for (int r = 0; r < rows; ++r) {
    std::memcpy(s + static_cast<std::int64_t>(i0 + r) * n + j0, sum[r],
                sizeof(float) * static_cast<std::size_t>(width));
  }
}

// S = A B^T for A (n x dh, fp32, rows ld apart) and B given transposed (dh x np, np = n rounded up
// to kLanes, zero beyond n).
void scores_of(const float* a, std::int64_t ld, int n, int dh, const float* bt, int np, float* s) {
  for (int i0 = 0; i0 < n; i0 += kBlockRows) {
    const int rows = n - i0 < kBlockRows ? n - i0 : kBlockRows;
    const float* row[kBlockRows];
    for (int r = 0; r < kBlockRows; ++r) row[r] = a + (i0 + (r < rows ? r : rows - 1)) * ld;
    int j0 = 0;
    // Row c of B^T's columns j0...: in place.
    auto row_of_bt = [&](int c, float*) { return bt + static_cast<std::int64_t>(c) * np + j0; };
    for (; j0 + 2 * kLanes <= np; j0 += 2 * kLanes) {
      float sum[kBlockRows][2 * kLanes];
      block_products<2 * kLanes, true>(row, dh, 2 * kLanes, row_of_bt, sum);
      store_scores(sum, rows, i0, j0, n, s);
    }
    for (; j0 < np; j0 += kLanes) {
      float sum[kBlockRows][kLanes];
      block_products<kLanes, true>(row, dh, kLanes, row_of_bt, sum);
      store_scores(sum, rows, i0, j0, n, s);
    }
  }
}

template <typename T>
void head_scores_of(const T* qkv, std::int64_t ld, int n, int heads, int dh, int h, float* scores,
                    float* scratch) {
  const T* q = qkv + static_cast<std::int64_t>(h) * dh;
  const T* k = q + static_cast<std::int64_t>(heads) * dh;
  const int np = (n + kLanes - 1) / kLanes * kLanes;
  float* transposed = scratch;  // K_h^T, dh x np
  for (int c = 0; c < dh; ++c) {
    float* row = transposed + static_cast<std::int64_t>(c) * np;
    for (int j = 0; j < n; ++j) row[j] = value_of(k[j * ld + c]);
    for (int j = n; j < np; ++j) row[j] = 0.f;
  }
  if constexpr (sizeof(T) == sizeof(float)) {
    scores_of(q, ld, n, dh, transposed, np, scores);
  } else {  // Q_h in fp32 first, n x dh, so that the products read each value as it is
    float* q32 = transposed + static_cast<std::int64_t>(dh) * np;
    for (int i = 0; i < n; ++i) {
#pragma omp simd
      for (int c = 0; c < dh; ++c) q32[i * dh + c] = value_of(q[i * ld + c]);
    }
    scores_of(q32, dh, n, dh, transposed, np, scores);
  }
}

void head_scores(const Rows& qkv, int n, int heads, int dh, int h, float* scores, float* scratch) {
  if (qkv.type == DType::kBF16) {
    head_scores_of(qkv.as<const std::uint16_t>(), qkv.ld, n, heads, dh, h, scores, scratch);
  } else {
    head_scores_of(qkv.as<const float>(), qkv.ld, n, heads, dh, h, scores, scratch);
  }
}

// sum[r, l] = sum_j P[rows[t0 + r], j] V[j, c0 + l] for a block of rows t0... and the columns
// l < width (kCols when kFull).
template <int kCols, bool kFull, typename T>
void context_block(const float* p, const int* rows, int t0, int block, int n, const T* v,
                   std::int64_t ld, int c0, int width, float (&sum)[kBlockRows][kCols]) {
  const float* row[kBlockRows];
  for (int r = 0; r < kBlockRows; ++r) {
    row[r] = p + static_cast<std::int64_t>(rows[t0 + (r < block ? r : block - 1)]) * n;
  }
  // Row j of V's columns c0...: converted to fp32 unless it is.
  auto row_of_v = [&](int j, float* buffer) -> const float* {
    const T* vj = v + j * ld + c0;
    if constexpr (sizeof(T) == sizeof(float)) {
      return vj;
    } else {
      const int w = kFull ? kCols : width;
#pragma omp simd
      for (int l = 0; l < w; ++l) buffer[l] = value_of(vj[l]);
      return buffer;
    }
  };
  block_products<kCols, kFull>(row, n, width, row_of_v, sum);
}

// The first `block` rows of sum, `width` columns each, into out's rows t0... at column col.
template <int kCols>
void store_context(const float (&sum)[kBlockRows][kCols], int block, int width, int t0, int col,
                   const Rows& out) {
  for (int r = 0; r < block; ++r) {
    const std::int64_t at = (t0 + r) * out.ld + col;
    if (out.type == DType::kBF16) {
      std::uint16_t* y = out.as<std::uint16_t>() + at;
      for (int l = 0; l < width; ++l) y[l] = bf16_of(sum[r][l]);
    } else {
      std::memcpy(out.as<float>() + at, sum[r], sizeof(float) * static_cast<std::size_t>(width));
    }
  }
}

template <typename T>
void head_context_of(const T* qkv, std::int64_t ld, int n, int heads, int dh, int h,
                     const float* probs, const int* rows, int k, const Rows& out) {
  const T* v = qkv + static_cast<std::int64_t>(2 * heads + h) * dh;
  for (int t0 = 0; t0 < k; t0 += kBlockRows) {
    const int block = k - t0 < kBlockRows ? k - t0 : kBlockRows;
    int c0 = 0;
    for (; c0 + 2 * kLanes <= dh; c0 += 2 * kLanes) {
      float sum[kBlockRows][2 * kLanes];
      context_block<2 * kLanes, true>(probs, rows, t0, block, n, v, ld, c0, 2 * kLanes, sum);
      store_context(sum, block, 2 * kLanes, t0, h * dh + c0, out);
    }
    for (; c0 < dh; c0 += kLanes) {
      float sum[kBlockRows][kLanes];
      const int width = dh - c0 < kLanes ? dh - c0 : kLanes;
      if (width == kLanes) {
        context_block<kLanes, true>(probs, rows, t0, block, n, v, ld, c0, width, sum);
      } else {  // never read past the head's columns: the last head's columns end the row
        context_block<kLanes, false>(probs, rows, t0, block, n, v, ld, c0, width, sum);
      }
      store_context(sum, block, width, t0, h * dh + c0, out);
    }
  }
}

void head_context(const Rows& qkv, int n, int heads, int dh, int h, const float* probs,
                  const int* rows, int k, const Rows& out) {
  if (qkv.type == DType::kBF16) {
    head_context_of(qkv.as<const std::uint16_t>(), qkv.ld, n, heads, dh, h, probs, rows, k, out);
  } else {
    head_context_of(qkv.as<const float>(), qkv.ld, n, heads, dh, h, probs, rows, k, out);
  }
}

void add_relative_bias(float* scores, int rows, int n, std::int64_t ld, float scale,
                       const int* row_positions, const int* positions, const std::uint8_t* bucket,
                       int reach, const float* bias, int stride) {
  for (int i = 0; i < rows; ++i) {
    float* row = scores + i * ld;
    const std::uint8_t* from_i = bucket + reach - row_positions[i];
    for (int j = 0; j < n; ++j) row[j] = row[j] * scale + bias[from_i[positions[j]] * stride];
  }
}

#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
// Tiles 0 to 3 hold 16 query rows, kTileDepth values of depth each; tiles 4 and 6 blocks of
// packed keys; tiles 5 and 7 their 16 x 16 scores.
struct TileConfig {
  std::uint8_t palette = 1, start_row = 0, reserved[14] = {};
  std::uint16_t bytes_per_row[16] = {};
  std::uint8_t rows[16] = {};
};

const std::uint16_t* head_values(const Rows& qkv, int heads, int dh, int h, int part) {
  return qkv.as<std::uint16_t>() + static_cast<std::int64_t>(part) * heads * dh +
         static_cast<std::int64_t>(h) * dh;
}

// Every tile 16 rows of 64 bytes. A constant in memory: the compiler does not see that
// _tile_loadconfig reads a local's fields, and may drop their stores.
constexpr TileConfig tile_config() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.bytes_per_row[t] = 64;
    config.rows[t] = kTileRows;
  }
  return config;
}
constexpr TileConfig kTileConfig = tile_config();

void begin_tiles() { _tile_loadconfig(&kTileConfig); }

void end_tiles() { _tile_release(); }

// Block (c, t) of 16 keys and kTileDepth values of depth, as AMX's right operand: row r holds
// the pairs of depth 2r and 2r + 1 of the 16 keys, side by side; keys past n are zero.
void pack_keys(const Rows& qkv, int n, int heads, int dh, int h, std::uint16_t* packed) {
  const std::uint16_t* k = head_values(qkv, heads, dh, h, 1);
  const int steps = dh / kTileDepth, blocks = (n + kTileRows - 1) / kTileRows;
  for (int c = 0; c < blocks; ++c) {
    for (int t = 0; t < steps; ++t) {
      std::uint32_t* out =
          reinterpret_cast<std::uint32_t*>(packed) + (c * steps + t) * kTileRows * kTileRows;
      for (int j = 0; j < kTileRows; ++j) {
        const int key = c * kTileRows + j;
        std::uint32_t pairs[kTileRows] = {};
        if (key < n) std::memcpy(pairs, k + key * qkv.ld + t * kTileDepth, sizeof pairs);
        for (int r = 0; r < kTileRows; ++r) out[r * kTileRows + j] = pairs[r];
      }
    }
  }
}

// Scores of 16 keys (block c of packed) into tile C, its keys' blocks passing through tile B.
// A macro: the intrinsics take a tile's number as a literal.
#define LAT_SCORE_BLOCK(B, C, c)                                           \
  do {                                                                     \
    const std::uint16_t* b = packed + (c)*kSteps * kTileRows * kTileDepth; \
    _tile_zero(C);                                                         \
    _tile_loadd(B, b, 64);                                                 \
    _tile_dpbf16ps(C, 0, B);                                               \
    if constexpr (kSteps > 1) {                                            \
      _tile_loadd(B, b + kTileRows * kTileDepth, 64);                      \
      _tile_dpbf16ps(C, 1, B);                                             \
    }                                                                      \
    if constexpr (kSteps > 2) {                                            \
      _tile_loadd(B, b + 2 * kTileRows * kTileDepth, 64);                  \
      _tile_dpbf16ps(C, 2, B);                                             \
    }                                                                      \
    if constexpr (kSteps > 3) {                                            \
      _tile_loadd(B, b + 3 * kTileRows * kTileDepth, 64);                  \
      _tile_dpbf16ps(C, 3, B);                                             \
    }                                                                      \
  } while (false)

template <int kSteps>
void score_rows(const std::uint16_t* q, std::int64_t q_stride, int n, const std::uint16_t* packed,
                float* out) {
  _tile_loadd(0, q, q_stride);
  if constexpr (kSteps > 1) _tile_loadd(1, q + kTileDepth, q_stride);
  if constexpr (kSteps > 2) _tile_loadd(2, q + 2 * kTileDepth, q_stride);
  if constexpr (kSteps > 3) _tile_loadd(3, q + 3 * kTileDepth, q_stride);
  // Blocks go in pairs, through two sets of tiles, so that one's products run while the other's
  // are stored.
  const int blocks = (n + kTileRows - 1) / kTileRows;
  const std::int64_t stride = tile_row_floats(n) * 4;
  int c = 0;
  for (; c + 1 < blocks; c += 2) {
    LAT_SCORE_BLOCK(4, 5, c);
    LAT_SCORE_BLOCK(6, 7, c + 1);
    _tile_stored(5, out + c * kTileRows, stride);
    _tile_stored(7, out + (c + 1) * kTileRows, stride);
  }
  if (c < blocks) {
    LAT_SCORE_BLOCK(4, 5, c);
    _tile_stored(5, out + c * kTileRows, stride);
  }
}
#undef LAT_SCORE_BLOCK

// Keys kTileDepth at a time (block b) and 16 values of depth at a time (block c), as AMX's right
// operand of P V: row r holds the values of keys 2r and 2r + 1 side by side; keys past n are zero.
void pack_values(const Rows& qkv, int n, int heads, int dh, int h, std::uint16_t* packed) {
  const std::uint16_t* v = head_values(qkv, heads, dh, h, 2);
  const int columns = dh / kTileRows, blocks = (n + kTileDepth - 1) / kTileDepth;
  // Output value 2j is value j of the even key, 2j + 1 value j of the odd one.
  alignas(64) std::uint16_t order[2 * kTileRows];
  for (int j = 0; j < kTileRows; ++j) {
    order[2 * j] = static_cast<std::uint16_t>(j);
    order[2 * j + 1] = static_cast<std::uint16_t>(2 * kTileRows + j);
  }
  const __m512i interleave = _mm512_load_si512(order);
  auto values_of = [&](int key, int c) {
    return key < n ? _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(
                         v + std::int64_t{key} * qkv.ld + c * kTileRows)))
                   : _mm512_setzero_si512();
  };
  for (int b = 0; b < blocks; ++b) {
    for (int c = 0; c < columns; ++c) {
      std::uint16_t* out = packed + (b * columns + c) * kTileRows * kTileDepth;
      for (int r = 0; r < kTileRows; ++r) {
        const int key = b * kTileDepth + 2 * r;
        _mm512_storeu_si512(
            out + r * kTileDepth,
            _mm512_permutex2var_epi16(values_of(key, c), interleave, values_of(key + 1, c)));
      }
    }
  }
}

// 16 rows of P V into tiles 4 to 7: four blocks of 16 values of depth from `first`, or two, each
// in two tiles (keys of even and odd blocks) so that four sums are under way at a time. Tiles 0
// and 3 hold the rows' probabilities for kTileDepth keys, tiles 1 and 2 the values' blocks.
#define LAT_VALUE_BLOCK(A, B, C, block, c)                                         \
  do {                                                                             \
    _tile_loadd(B, packed + ((block)*columns + (c)) * kTileRows * kTileDepth, 64); \
    _tile_dpbf16ps(C, A, B);                                                       \
  } while (false)

void context_rows(const std::uint16_t* probs, int n, const std::uint16_t* packed, int dh, int count,
                  const Rows& out) {
  const int columns = dh / kTileRows, blocks = (n + kTileDepth - 1) / kTileDepth;
  const std::int64_t probs_stride = std::int64_t{n} * 2;
  alignas(64) float c_rows[kTileRows * 4 * kTileRows];
  for (int first = 0; first < columns; first += 4) {
    const bool split = columns - first < 4;  // two blocks of depth (dh is a multiple of 32)
    _tile_zero(4);
    _tile_zero(5);
    _tile_zero(6);
    _tile_zero(7);
    if (split) {
      int b = 0;
      for (; b + 1 < blocks; b += 2) {
        _tile_loadd(0, probs + b * kTileDepth, probs_stride);
        _tile_loadd(3, probs + (b + 1) * kTileDepth, probs_stride);
        LAT_VALUE_BLOCK(0, 1, 4, b, first);
        LAT_VALUE_BLOCK(0, 2, 5, b, first + 1);
        LAT_VALUE_BLOCK(3, 1, 6, b + 1, first);
        LAT_VALUE_BLOCK(3, 2, 7, b + 1, first + 1);
      }
      if (b < blocks) {
        _tile_loadd(0, probs + b * kTileDepth, probs_stride);
        LAT_VALUE_BLOCK(0, 1, 4, b, first);
        LAT_VALUE_BLOCK(0, 2, 5, b, first + 1);
      }
    } else {
      for (int b = 0; b < blocks; ++b) {
        _tile_loadd(0, probs + b * kTileDepth, probs_stride);
        LAT_VALUE_BLOCK(0, 1, 4, b, first);
        LAT_VALUE_BLOCK(0, 2, 5, b, first + 1);
        LAT_VALUE_BLOCK(0, 1, 6, b, first + 2);
        LAT_VALUE_BLOCK(0, 2, 7, b, first + 3);
      }
    }
    const std::int64_t stride = 4 * kTileRows * 4;
    _tile_stored(4, c_rows, stride);
    _tile_stored(5, c_rows + kTileRows, stride);
    _tile_stored(6, c_rows + 2 * kTileRows, stride);
    _tile_stored(7, c_rows + 3 * kTileRows, stride);
    const int width = split ? 2 * kTileRows : 4 * kTileRows;
    for (int i = 0; i < count; ++i) {
      float* from = c_rows + i * 4 * kTileRows;
      if (split) {
        for (int j = 0; j < width; ++j) from[j] += from[width + j];
      }
      const std::int64_t at = i * out.ld + first * kTileRows;
      if (out.type == DType::kBF16) {
        std::uint16_t* to = out.as<std::uint16_t>() + at;
        for (int j = 0; j < width; ++j) to[j] = bf16_of(from[j]);
      } else {
        float* to = out.as<float>() + at;
        for (int j = 0; j < width; ++j) to[j] = from[j];
      }
    }
  }
}
#undef LAT_VALUE_BLOCK

void scores_rows(const Rows& qkv, int n, int heads, int dh, int h, int first,
                 const std::uint16_t* packed, float* out) {
  const std::uint16_t* q = head_values(qkv, heads, dh, h, 0) + first * qkv.ld;
  std::int64_t q_stride = qkv.ld * 2;
  std::uint16_t tail[kTileRows * kMaxTileDh];
  if (n - first < kTileRows) {  // the last rows, padded to a tile
    const int rows = n - first;
    std::memset(tail, 0, sizeof tail);
    for (int r = 0; r < rows; ++r) std::memcpy(tail + r * dh, q + r * qkv.ld, 2 * std::size_t(dh));
    q = tail;
    q_stride = 2 * dh;
  }
  switch (dh / kTileDepth) {
    case 1:
      score_rows<1>(q, q_stride, n, packed, out);
      break;
    case 2:
      score_rows<2>(q, q_stride, n, packed, out);
      break;
    case 3:
      score_rows<3>(q, q_stride, n, packed, out);
      break;
    default:
      score_rows<4>(q, q_stride, n, packed, out);
      break;
  }
}
#endif

void add_layer_norm(float* x, const float* residual, const int* at, std::int64_t rows, int d,
                    const float* gamma, const float* beta, float eps, Rows also) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    float sum = 0.f;
    if (residual != nullptr) {
      const float* res = residual + (at != nullptr ? at[r] : r) * std::int64_t{d};
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
    float out_squares = 0.f;  // of the row written, which its uint8 code reads
#pragma omp simd reduction(+ : out_squares)
    for (int i = 0; i < d; ++i) {
      row[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
      out_squares += row[i] * row[i];
    }
    if (also.data != nullptr) store_row(row, d, also, r, out_squares);
  }
}

void add_rows(float* x, const float* residual, const int* at, std::int64_t rows, int d) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    const float* res = residual + (at != nullptr ? at[r] : r) * std::int64_t{d};
#pragma omp simd
    for (int i = 0; i < d; ++i) row[i] += res[i];
  }
}

void gated(const float* in, std::int64_t rows, int width, Epilogue act, float* out) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = out + r * width;
    const float* half = in + r * 2 * width;
#pragma omp simd
    for (int j = 0; j < width; ++j) row[j] = half[j];
    apply(act, row, width);
#pragma omp simd
    for (int j = 0; j < width; ++j) row[j] *= half[width + j];
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

void convert(const float* x, std::int64_t rows, int cols, std::int64_t ld_x, Rows out) {
  const bool squares = codes_own_rows(out);
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 16))
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * ld_x;
    store_row(row, cols, out, r, squares ? sum_of_squares(row, cols) : 0.f);
  }
}

void quantize_weights(const float* w, std::int64_t rows, int cols, int qmax, std::int8_t* q,
                      float* scales) {
  const float limit = static_cast<float>(qmax);
  for (std::int64_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    const float amax = lane_max<kAbs>(row, cols);
    const float inv = amax > 0 ? limit / amax : 0.0f;
    scales[r] = amax / limit;
#pragma omp simd
    for (int j = 0; j < cols; ++j) {
      q[r * cols + j] =
          static_cast<std::int8_t>(max_of(-limit, min_of(limit, round_even(row[j] * inv))));
    }
  }
}

// What the loop that finishes a product's row writes: fp32 values (kValues), with the sum of
// their squares where the next product's code reads it (kCoded), or bf16 values (kBf16).
enum Written { kValues, kCoded, kBf16 };

// One row of a product's sums finished (Loops::dequantize) through the epilogue kE into v (fp32)
// or b (bf16), in one loop; returns the sum of squares for kCoded.
template <Epilogue kE, Written kTo>
float dequantize_row(const std::int32_t* a, int cols, const RowCode& code, const Int8Weights& w,
                     const float* bias, float* v, std::uint16_t* b) {
  const float* scales = w.scales;
  const std::int32_t* sums = w.sums;
  // acc - zero * sum exactly, in wrapping 32-bit arithmetic: the true value fits in 32 bits.
  const auto zero = static_cast<std::uint32_t>(code.zero);
  const float s = code.scale;
  float squares = 0.f;
  if (code.outliers == 0) {
#pragma omp simd reduction(+ : squares)
    for (int j = 0; j < cols; ++j) {
      const auto exact = static_cast<std::int32_t>(static_cast<std::uint32_t>(a[j]) -
                                                   zero * static_cast<std::uint32_t>(sums[j]));
      const float y = activated<kE>(static_cast<float>(exact) * s * scales[j] + bias[j]);
      if constexpr (kTo == kBf16) {
        b[j] = bf16_of(y);
      } else {
        v[j] = y;
      }
      if constexpr (kTo == kCoded) squares += y * y;
    }
    return squares;
  }
  // The outliers' weights: one input's row of by_input each (unused slots add 0 x row 0).
  const std::int8_t* o[RowCode::kOutliers];
  float value[RowCode::kOutliers];
  for (int i = 0; i < RowCode::kOutliers; ++i) {
    const bool used = i < code.outliers;
    o[i] = w.by_input + static_cast<std::int64_t>(used ? code.column[i] : 0) * cols;
    value[i] = used ? code.value[i] : 0.f;
  }
  const std::int8_t *o0 = o[0], *o1 = o[1], *o2 = o[2], *o3 = o[3];
#pragma omp simd reduction(+ : squares)
  for (int j = 0; j < cols; ++j) {
    const auto exact = static_cast<std::int32_t>(static_cast<std::uint32_t>(a[j]) -
                                                 zero * static_cast<std::uint32_t>(sums[j]));
    const float sum = static_cast<float>(exact) * s + value[0] * static_cast<float>(o0[j]) +
                      value[1] * static_cast<float>(o1[j]) + value[2] * static_cast<float>(o2[j]) +
                      value[3] * static_cast<float>(o3[j]);
    const float y = activated<kE>(sum * scales[j] + bias[j]);
    if constexpr (kTo == kBf16) {
      b[j] = bf16_of(y);
    } else {
      v[j] = y;
    }
    if constexpr (kTo == kCoded) squares += y * y;
  }
  return squares;
}

template <Epilogue kE, Written kTo>
void dequantize_rows(const std::int32_t* acc, std::int64_t rows, int cols, const Rows& in,
                     const Int8Weights& w, const float* bias, const Rows& out, float* scratch) {
  // Inside a parallel region (a thread finishing its own block) it runs on that thread alone,
  // with its row of scratch.
#pragma omp parallel for schedule(static) if (omp_in_parallel() == 0)
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int32_t* a = acc + r * cols;
    if constexpr (kTo == kBf16) {
      dequantize_row<kE, kTo>(a, cols, in.codes[r], w, bias, nullptr,
                              out.as<std::uint16_t>() + r * out.ld);
    } else if (out.type == DType::kF32) {  // finished in place
      dequantize_row<kE, kTo>(a, cols, in.codes[r], w, bias, out.as<float>() + r * out.ld, nullptr);
    } else {  // uint8 codes, from this thread's row of scratch
      float* v = scratch + static_cast<std::int64_t>(omp_get_thread_num()) * cols;
      const float squares = dequantize_row<kE, kTo>(a, cols, in.codes[r], w, bias, v, nullptr);
      store_row(v, cols, out, r, squares);
    }
  }
}

void dequantize(const std::int32_t* acc, std::int64_t rows, int cols, const Rows& in,
                const Int8Weights& w, const float* bias, Epilogue epilogue, Rows out,
                float* scratch) {
  with_epilogue(epilogue, [&]<Epilogue kE>(As<kE>) {
    if (out.type == DType::kBF16) {
      dequantize_rows<kE, kBf16>(acc, rows, cols, in, w, bias, out, scratch);
    } else if (codes_own_rows(out)) {
      dequantize_rows<kE, kCoded>(acc, rows, cols, in, w, bias, out, scratch);
    } else {
      dequantize_rows<kE, kValues>(acc, rows, cols, in, w, bias, out, scratch);
    }
  });
}

}  // namespace

extern const Loops table;
// clang-format off
const Loops table{
    .isa = Isa::LAT_ISA_ENUM,
    .name = LAT_NAME_OF(LAT_ISA),
    .head_scores = head_scores,
    .head_context = head_context,
    .softmax_acc = softmax_acc,
    .add_relative_bias = add_relative_bias,
#if defined(__AMX_TILE__) && defined(__AMX_BF16__)
    .begin_tiles = begin_tiles,
    .end_tiles = end_tiles,
    .pack_keys = pack_keys,
    .scores_rows = scores_rows,
    .pack_values = pack_values,
    .context_rows = context_rows,
#else
    .begin_tiles = nullptr,
    .end_tiles = nullptr,
    .pack_keys = nullptr,
    .scores_rows = nullptr,
    .pack_values = nullptr,
    .context_rows = nullptr,
#endif
    .add_layer_norm = add_layer_norm,
    .add_rows = add_rows,
    .gated = gated,
    .l2_normalize = l2_normalize,
    .convert = convert,
    .quantize_weights = quantize_weights,
    .dequantize = dequantize,
};
// clang-format on

}  // namespace lat::kernels::LAT_ISA
