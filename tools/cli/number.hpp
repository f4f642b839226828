#pragma once

#include <optional>
#include <stdexcept>
#include <string>

namespace lat::cli {

// The whole of `text` read as a number (std::stod's syntax), or nothing: the tools' flags reject
// "2x" and "" rather than reading a prefix.
inline std::optional<double> whole_number(const std::string& text) {
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (used != text.size()) return std::nullopt;
  return value;
}

}  // namespace lat::cli
