#include "lat/precision.hpp"

namespace lat {

const char* to_string(Precision precision) noexcept {
  switch (precision) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

std::optional<Precision> precision_from_string(std::string_view name) noexcept {
  for (Precision p : {Precision::kFp32, Precision::kBf16, Precision::kInt8}) {
    if (name == to_string(p)) return p;
  }
  return std::nullopt;
}

}  // namespace lat
