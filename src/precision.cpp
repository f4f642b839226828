#include "lat/precision.hpp"

namespace lat {

const char* to_string(Precision precision) noexcept {
  switch (precision) {
    case Precision::kBf16:
      return "bf16";
    case Precision::kInt8:
      return "int8";
    case Precision::kInt8Static:
      return "int8-static";
    case Precision::kFp32:
      break;
  }
  return "fp32";
}

std::optional<Precision> precision_from_string(std::string_view name) noexcept {
  for (Precision p : kPrecisions) {
    if (name == to_string(p)) return p;
  }
  return std::nullopt;
}

std::string precision_names() {
  std::string names;
  for (std::size_t i = 0; i < std::size(kPrecisions); ++i) {
    if (i > 0) names += i + 1 == std::size(kPrecisions) ? " or " : ", ";
    names += to_string(kPrecisions[i]);
  }
  return names;
}

}  // namespace lat
