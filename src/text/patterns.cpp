// Hand-written matchers for the regular expressions of tokenizer.json files.
#include "text/patterns.hpp"

#include <nlohmann/json.hpp>

#include "lat/error.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

// Collects matches, filling the gaps between them with non-matches.
class Matches {
 public:
  explicit Matches(std::size_t size) : size_(size) {}
  void add(std::size_t begin, std::size_t end) {
    if (begin > done_) out_.push_back({done_, begin, false});
    out_.push_back({begin, end, true});
    done_ = end;
  }
  std::vector<Match> take() {
    if (done_ < size_) out_.push_back({done_, size_, false});
    return std::move(out_);
  }

 private:
  std::size_t size_;
  std::size_t done_ = 0;
  std::vector<Match> out_;
};

// Runs of characters for which in_class holds.
template <class Class>
std::vector<Match> runs(const std::u32string& t, Class in_class, std::size_t min_length) {
  Matches m(t.size());
  for (std::size_t i = 0; i < t.size();) {
    if (!in_class(t[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < t.size() && in_class(t[j])) ++j;
    if (j - i >= min_length) m.add(i, j);
    i = j;
  }
  return m.take();
}

const char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

bool is_other(char32_t c) { return !is_white_space(c) && !is_letter(c) && !is_number(c); }

// The end of ` ?X+` at i, or i when it does not match.
template <class Class>
std::size_t optional_space_run(const std::u32string& t, std::size_t i, Class in_class) {
  std::size_t j = i;
  if (t[j] == U' ') ++j;
  if (j >= t.size() || !in_class(t[j])) return i;
  while (j < t.size() && in_class(t[j])) ++j;
  return j;
}

}  // namespace

std::vector<Match> gpt2_matches(const std::u32string& t) {
  Matches m(t.size());
  std::size_t i = 0;
  while (i < t.size()) {
    // The alternatives in order; the first that matches at i wins.
    std::size_t end = i;
    if (t[i] == U'\'' && i + 1 < t.size()) {
      const char32_t a = t[i + 1];
      const char32_t b = i + 2 < t.size() ? t[i + 2] : 0;
      if (a == U's' || a == U't' || a == U'm' || a == U'd') {
        end = i + 2;
      } else if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) {
        end = i + 3;
      }
    }
    if (end == i) end = optional_space_run(t, i, is_letter);
    if (end == i) end = optional_space_run(t, i, is_number);
    if (end == i) end = optional_space_run(t, i, is_other);
    if (end == i && is_white_space(t[i])) {
      std::size_t j = i;
      while (j < t.size() && is_white_space(t[j])) ++j;
      // \s+(?!\S) gives back the last space before a non-space; \s+ takes the rest.
      end = (j < t.size() && j - i > 1) ? j - 1 : j;
    }
    if (end == i) {  // no alternative matches here (cannot happen: every class is covered)
      ++i;
      continue;
    }
    m.add(i, end);
    i = end;
  }
  return m.take();
}

std::vector<Match> char_matches(const std::u32string& text,
                                const std::function<bool(char32_t)>& is_match) {
  Matches m(text.size());
  for (std::size_t i = 0; i < text.size(); ++i)
    if (is_match(text[i])) m.add(i, i + 1);
  return m.take();
}

std::vector<Match> word_matches(const std::u32string& t) {
  Matches m(t.size());
  for (std::size_t i = 0; i < t.size();) {
    if (is_white_space(t[i])) {
      ++i;
      continue;
    }
    const bool word = is_rust_word(t[i]);
    std::size_t j = i;
    while (j < t.size() && !is_white_space(t[j]) && is_rust_word(t[j]) == word) ++j;
    m.add(i, j);
    i = j;
  }
  return m.take();
}

Pattern::Pattern(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object() || json.size() != 1 || !json.begin().value().is_string()) {
    throw Error(ErrorCode::kFormat,
                where + ": field 'pattern' must be {\"String\": ...} or {\"Regex\": ...}");
  }
  const std::string& value = json.begin().value().get_ref<const std::string&>();
  if (json.begin().key() == "String") {
    literal_ = decode_utf8(value);
    if (literal_.empty()) throw Error(ErrorCode::kFormat, where + ": the pattern string is empty");
    return;
  }
  if (json.begin().key() != "Regex") {
    throw Error(ErrorCode::kFormat,
                where + ": pattern kind '" + json.begin().key() + "' is neither String nor Regex");
  }
  if (value == " {2,}") {
    kind_ = Kind::kSpaces;
  } else if (value == "\\s+") {
    kind_ = Kind::kWhitespace;
  } else if (value == "\\w+|[^\\w\\s]+") {
    kind_ = Kind::kWords;
  } else if (value == kGpt2Pattern) {
    kind_ = Kind::kGpt2;
  } else {
    throw Error(ErrorCode::kUnsupported,
                where + ": regular expression '" + value +
                    "' is not one lat runs (\" {2,}\", \"\\s+\", \"\\w+|[^\\w\\s]+\", GPT-2's)");
  }
}

std::vector<Match> Pattern::find(const std::u32string& text) const {
  switch (kind_) {
    case Kind::kSpaces:
      return runs(
          text, [](char32_t c) { return c == U' '; }, 2);
    case Kind::kWhitespace:
      return runs(text, is_white_space, 1);
    case Kind::kWords:
      return word_matches(text);
    case Kind::kGpt2:
      return gpt2_matches(text);
    case Kind::kLiteral:
      break;
  }
  Matches m(text.size());
  for (std::size_t i = text.find(literal_); i != std::u32string::npos;
       i = text.find(literal_, i + literal_.size())) {
    m.add(i, i + literal_.size());
  }
  return m.take();
}

Behavior parse_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return Behavior::kRemoved;
  if (name == "Isolated") return Behavior::kIsolated;
  if (name == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return Behavior::kMergedWithNext;
  if (name == "Contiguous") return Behavior::kContiguous;
  throw Error(ErrorCode::kFormat, where + ": field 'behavior' is '" + name +
                                      "'; it must be Removed, Isolated, MergedWithPrevious, "
                                      "MergedWithNext or Contiguous");
}

}  // namespace lat::text
