#pragma once

#include <lat/precision.hpp>
#include <stdexcept>
#include <string>

#include "flags.hpp"

namespace lat::cli {

// The tools' --precision flag: fp32, bf16 or int8; `fallback` empty: none (the model's lat.json
// decides).
inline Flag precision_flag(std::string fallback) {
  return Flag::text("--precision", "fp32|bf16|int8", "the arithmetic", std::move(fallback))
      .one_of({"fp32", "bf16", "int8"});
}

// The --precision flag's value as a Precision. Throws std::invalid_argument for anything else.
inline Precision precision_from_flag(const std::string& value) {
  const auto p = precision_from_string(value);
  if (!p) throw std::invalid_argument(value_error("--precision", value, "not fp32, bf16 or int8"));
  return *p;
}

}  // namespace lat::cli
