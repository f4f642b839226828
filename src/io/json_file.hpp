#pragma once

#include <filesystem>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lat::io {

// Parses JSON text; errors name `where`. A key that appears twice in one object is an error:
// readers disagree on which of the two counts.
nlohmann::json parse_json(std::string_view text, const std::string& where);

// Parses a JSON file the same way; errors name the file.
nlohmann::json read_json(const std::filesystem::path& path);

// Typed access to one field of a JSON object, with errors that name the file and the field.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string file);

  bool has(const char* key) const;
  std::optional<long long> integer(const char* key) const;
  std::optional<double> number(const char* key) const;
  std::optional<bool> boolean(const char* key) const;
  std::optional<std::string> string(const char* key) const;
  // An integer field that must be present and lie in [lo, hi].
  long long integer_in(const char* key, long long lo, long long hi) const;
  // An array of numbers.
  std::optional<std::vector<double>> numbers(const char* key) const;
  // An error naming the first key that is not one of `known`, which `what` lists for the reader.
  void only(std::initializer_list<std::string_view> known, const std::string& what) const;
  [[noreturn]] void fail(const char* key, const std::string& what) const;

  const std::string& file() const { return file_; }

 private:
  const nlohmann::json& object_;
  std::string file_;
};

}  // namespace lat::io
