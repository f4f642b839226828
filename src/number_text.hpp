#pragma once

#include <cstdio>
#include <string>

namespace lat {

// A number for a message, as people write it: 2, 1.5, 1e+300 (not 300 digits).
inline std::string number_text(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", v);
  return buffer;
}

}  // namespace lat
