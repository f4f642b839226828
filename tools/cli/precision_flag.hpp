#pragma once

#include <lat/precision.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "flags.hpp"

namespace lat::cli {

// The tools' --precision flag: one of lat's precisions; `fallback` empty: none (the model's
// lat.json decides).
inline Flag precision_flag(std::string fallback) {
  std::vector<std::string> names;
  std::string shown;
  for (Precision p : kPrecisions) {
    names.emplace_back(to_string(p));
    shown += (shown.empty() ? "" : "|") + names.back();
  }
  return Flag::text("--precision", shown, "the arithmetic", std::move(fallback))
      .one_of(std::move(names));
}

// The --precision flag's value as a Precision. Throws std::invalid_argument for anything else.
inline Precision precision_from_flag(const std::string& value) {
  const auto p = precision_from_string(value);
  if (!p) {
    throw std::invalid_argument(value_error("--precision", value, "not " + precision_names()));
  }
  return *p;
}

}  // namespace lat::cli
