#pragma once

#include <stdexcept>
#include <string>

#include "lat/export.hpp"

namespace lat {

// What kind of thing went wrong; the message names the file and field at fault.
enum class ErrorCode {
  kIo,           // a file or folder is missing, unreadable or not what it should be
  kFormat,       // a file's contents are malformed (safetensors, JSON, vocabulary)
  kConfig,       // a model configuration lat cannot run, or one that contradicts the weights
  kInput,        // a text or token sequence that cannot be encoded (invalid UTF-8, bad ids)
  kOption,       // an option out of range (threads, speedup, maximum length)
  kUnsupported,  // a valid model feature lat does not implement
};

LAT_EXPORT const char* to_string(ErrorCode code) noexcept;

// The one exception type lat throws.
class LAT_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace lat
