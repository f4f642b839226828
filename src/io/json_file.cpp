#include "io/json_file.hpp"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "lat/error.hpp"

namespace lat::io {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw Error(ErrorCode::kIo, path.string() + ": missing or not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_json(text.str(), path.string());
}

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::set<std::string>> open_objects;  // the keys seen so far in each
  std::string duplicate;
  // Far deeper than any model file; deeper nesting would only make the readers that recurse
  // into it (a tokenizer's Sequence steps) exhaust the stack.
  constexpr int kMaxDepth = 64;
  auto watch = [&](int depth, Event event, nlohmann::json& parsed) {
    if (depth > kMaxDepth) {
      throw Error(ErrorCode::kFormat,
                  where + ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    if (event == Event::object_start) {
      open_objects.emplace_back();
    } else if (event == Event::object_end) {
      open_objects.pop_back();
    } else if (event == Event::key && duplicate.empty() &&
               !open_objects.back().insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(text.begin(), text.end(), watch);
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kFormat, where + ": not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) {
    throw Error(ErrorCode::kFormat,
                where + ": key '" + duplicate + "' appears twice in one object");
  }
  return json;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string file)
    : object_(object), file_(std::move(file)) {
  if (!object_.is_object()) {
    throw Error(ErrorCode::kFormat, file_ + ": expected a JSON object at the top level");
  }
}

void JsonFields::fail(const char* key, const std::string& what) const {
  throw Error(ErrorCode::kConfig, file_ + ": field '" + key + "' " + what);
}

bool JsonFields::has(const char* key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

std::optional<long long> JsonFields::integer(const char* key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = object_.at(key);
  if (v.is_number_unsigned() && v.get<unsigned long long>() > 9'000'000'000'000'000'000ull) {
    fail(key, "is " + v.dump() + ", far too large");
  }
  if (v.is_number_integer()) return v.get<long long>();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // Range first: converting a double outside long long's range is undefined behaviour.
    if (d > -9e18 && d < 9e18 && d == static_cast<double>(static_cast<long long>(d))) {
      return static_cast<long long>(d);
    }
  }
  fail(key, "must be an integer, found " + v.dump());
}

std::optional<double> JsonFields::number(const char* key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = object_.at(key);
  if (!v.is_number()) fail(key, "must be a number, found " + v.dump());
  return v.get<double>();
}

std::optional<bool> JsonFields::boolean(const char* key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = object_.at(key);
  if (!v.is_boolean()) fail(key, "must be true or false, found " + v.dump());
  return v.get<bool>();
}

std::optional<std::string> JsonFields::string(const char* key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = object_.at(key);
  if (!v.is_string()) fail(key, "must be a string, found " + v.dump());
  return v.get<std::string>();
}

long long JsonFields::integer_in(const char* key, long long lo, long long hi) const {
  const auto v = integer(key);
  if (!v) fail(key, "is missing");
  if (*v < lo || *v > hi) {
    fail(key, "is " + std::to_string(*v) + ", outside [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
  }
  return *v;
}

std::optional<std::vector<double>> JsonFields::numbers(const char* key) const {
  if (!has(key)) return std::nullopt;
  const auto& v = object_.at(key);
  std::vector<double> out;
  if (!v.is_array()) fail(key, "must be an array of numbers, found " + v.dump());
  for (const auto& x : v) {
    if (!x.is_number()) fail(key, "must be an array of numbers, found " + x.dump() + " in it");
    out.push_back(x.get<double>());
  }
  return out;
}

void JsonFields::only(std::initializer_list<std::string_view> known,
                      const std::string& what) const {
  for (const auto& [key, value] : object_.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      throw Error(ErrorCode::kConfig, file_ + ": unknown key '" + key + "'; " + what);
    }
  }
}

}  // namespace lat::io
