#pragma once

#include <cstddef>
#include <cstdint>

namespace lat::kernels {

// The element-wise step that follows a product.
enum class Epilogue { kNone, kGeluErf, kGeluTanh, kRelu, kTanh };

// Element types of activations between the steps of a layer.
enum class DType : std::uint8_t {
  kF32,
  kBF16,  // the upper half of an fp32, rounded to nearest even
};

constexpr std::size_t size_of(DType t) { return t == DType::kF32 ? 4 : 2; }

// A row-major block of activations: row r starts ld elements after row r - 1.
struct Rows {
  DType type = DType::kF32;
  void* data = nullptr;
  std::int64_t ld = 0;

  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
  // The rows from `row` on.
  Rows from(std::int64_t row) const {
    return {type,
            static_cast<std::byte*>(data) + row * ld * static_cast<std::int64_t>(size_of(type)),
            ld};
  }
};

inline Rows f32_rows(float* data, std::int64_t ld) { return {DType::kF32, data, ld}; }

}  // namespace lat::kernels
