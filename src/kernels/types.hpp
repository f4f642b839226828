#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lat::kernels {

// The element-wise step that follows a product.
enum class Epilogue { kNone, kGeluErf, kGeluTanh, kRelu, kTanh };

// Element types of activations between the steps of a layer.
enum class DType : std::uint8_t {
  kF32,
  kBF16,  // the upper half of an fp32, rounded to nearest even
  kU8,    // uint8 codes, each row decoded by its RowCode
};

constexpr std::size_t size_of(DType t) { return t == DType::kF32 ? 4 : t == DType::kBF16 ? 2 : 1; }

// How one row of uint8 codes decodes. Up to four outliers, values beyond 4 times the row's root
// mean square, are kept exactly beside the codes (whose entries for them hold `zero`, the code of
// 0): transformer activations carry a few channels far larger than the rest, which would
// otherwise set the step for the whole row. The others are quantized over their range
// [min(x, 0), max(x, 0)] in 255 steps: value = (code - zero) * scale.
struct RowCode {
  static constexpr int kOutliers = 4;
  float scale = 0;
  std::int32_t zero = 0;
  std::int32_t outliers = 0;  // how many of the slots below are used
  std::int32_t column[kOutliers] = {};
  float value[kOutliers] = {};
};

// int8-static's code for a product's input, calibrated offline: column j is divided by smooth[j]
// (the product's weights carry smooth[j] instead, so the product is unchanged), then quantized
// under `code`, whose scale, zero and outlier columns every row shares; values beyond its range
// saturate. The outliers' values are kept divided by smooth as well.
struct FixedCode {
  RowCode code;
  std::vector<float> inverse;  // per column: 1 / (smooth[j] * code.scale), 0 where the scale is 0
};

// A row-major block of activations: row r starts ld elements after row r - 1; kU8 rows carry a
// RowCode each. Where `fixed` is set (int8-static), rows are written under it instead of under
// codes of their own: no pass over a row comes first, and the RowCode of each row differs only
// in its outlier values.
struct Rows {
  DType type = DType::kF32;
  void* data = nullptr;
  std::int64_t ld = 0;
  RowCode* codes = nullptr;
  const FixedCode* fixed = nullptr;

  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
  // The rows from `row` on.
  Rows from(std::int64_t row) const {
    return {type,
            static_cast<std::byte*>(data) + row * ld * static_cast<std::int64_t>(size_of(type)), ld,
            codes == nullptr ? nullptr : codes + row, fixed};
  }
};

inline Rows f32_rows(float* data, std::int64_t ld) { return {DType::kF32, data, ld}; }

// A weight matrix quantized per output channel, as the end of an int8 product needs it.
struct Int8Weights {
  const float* scales;          // per output channel: weight = q * scale
  const std::int32_t* sums;     // per output channel: the sum of its codes
  const std::int8_t* by_input;  // the codes, [in][out]: one input's weights contiguous
};

}  // namespace lat::kernels
