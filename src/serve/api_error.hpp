#pragma once

#include <stdexcept>
#include <string>

namespace lat::serve {

// An answer other than 200, as text-embeddings-inference gives it: the status and
// {"error": message, "error_type": type}. Types are TEI's ("validation", "tokenizer", "empty",
// "overloaded", "backend", "unhealthy") and, for what TEI leaves to its HTTP layer, lat-serve's
// ("unauthorized", "not_found", "method_not_allowed", "payload_too_large", "internal").
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(std::move(type)) {}
  int status() const { return status_; }
  const std::string& type() const { return type_; }

 private:
  int status_;
  std::string type_;
};

inline ApiError validation_error(const std::string& message) {
  return {422, "validation", message};
}
// TEI answers 400 for an empty input; lat-serve keeps every input error at 422, with TEI's type.
inline ApiError empty_error(const std::string& message) { return {422, "empty", message}; }
inline ApiError tokenizer_error(const std::string& message) { return {422, "tokenizer", message}; }
inline ApiError backend_error(const std::string& message) { return {424, "backend", message}; }
inline ApiError overloaded_error() { return {429, "overloaded", "Model is overloaded"}; }
inline ApiError stopping_error() { return {503, "unhealthy", "the server is shutting down"}; }

}  // namespace lat::serve
