#pragma once

#include <lat/precision.hpp>
#include <stdexcept>
#include <string>

namespace lat::cli {

// The tools' --precision flag: fp32, bf16 or int8. Throws std::invalid_argument for anything else.
inline Precision precision_from_flag(const std::string& value) {
  const auto p = precision_from_string(value);
  if (!p) throw std::invalid_argument("--precision " + value + ": not fp32, bf16 or int8");
  return *p;
}

}  // namespace lat::cli
