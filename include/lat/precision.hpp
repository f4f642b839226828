#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lat/export.hpp"

namespace lat {

// The number format of the encoder's matrix products. Embeddings, layer norm, softmax and ACC run
// in fp32 whatever the precision; parity with the reference is defined at fp32.
enum class Precision {
  kFp32,  // fp32 products: the reference's numbers
  kBf16,  // bf16 weights and activations, fp32 accumulation (needs AVX-512)
  kInt8,  // int8 weights (per output channel) and activations (per row), int32 accumulation
  // int8 weights as kInt8; activations quantized over ranges calibrated offline, one per product
  // input, which lat.json carries (lat/settings.hpp, Int8Ranges; docs/design.md, "int8-static")
  kInt8Static,
};

// Every precision, in the order above.
inline constexpr Precision kPrecisions[] = {Precision::kFp32, Precision::kBf16, Precision::kInt8,
                                            Precision::kInt8Static};

// "fp32", "bf16", "int8", "int8-static".
LAT_EXPORT const char* to_string(Precision precision) noexcept;
// The precision a name means, or nothing for an unknown name.
LAT_EXPORT std::optional<Precision> precision_from_string(std::string_view name) noexcept;
// The names, for messages: "fp32, bf16, int8 or int8-static".
LAT_EXPORT std::string precision_names();

}  // namespace lat
