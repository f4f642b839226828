#include "lat/error.hpp"

namespace lat {

const char* to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::kIo:
      return "io";
    case ErrorCode::kFormat:
      return "format";
    case ErrorCode::kConfig:
      return "config";
    case ErrorCode::kInput:
      return "input";
    case ErrorCode::kOption:
      return "option";
    case ErrorCode::kUnsupported:
      return "unsupported";
  }
  return "unknown";
}

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(message), code_(code) {}

}  // namespace lat
