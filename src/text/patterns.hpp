#pragma once

// The regular expressions tokenizer.json files use, matched by hand with Unicode properties, and
// how a pre-tokenizer turns matches into pieces.
#include <cstddef>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "text/text.hpp"

namespace lat::text {

// A run of the text: a match of the pattern, or the text between two matches. A list of them
// covers the text in order.
struct Match {
  std::size_t begin, end;
  bool is_match;
};

// GPT-2's pattern, as Oniguruma matches it:
// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<Match> gpt2_matches(const std::u32string& text);

// Each character for which `is_match` holds is a match of its own.
std::vector<Match> char_matches(const std::u32string& text,
                                const std::function<bool(char32_t)>& is_match);

// tokenizer.json's pattern object: {"String": literal} or {"Regex": pattern}. The regular
// expressions are those tokenizer.json files use in practice, each matched by hand:
//   " {2,}"          runs of spaces (transformers' SentencePiece converters)
//   "\s+"           runs of whitespace
//   "\w+|[^\w\s]+"  the Whitespace pre-tokenizer's
//   GPT-2's pattern  as above
// any other is an error naming it.
class Pattern {
 public:
  Pattern(const nlohmann::json& json, const std::string& where);
  std::vector<Match> find(const std::u32string& text) const;

 private:
  enum class Kind { kLiteral, kSpaces, kWhitespace, kWords, kGpt2 };
  Kind kind_ = Kind::kLiteral;
  std::u32string literal_;
};

// \w+|[^\w\s]+ with Oniguruma's \w (Alphabetic, M, Nd, Pc, Join_Control).
std::vector<Match> word_matches(const std::u32string& text);

// SplitDelimiterBehavior: what becomes of the matches when a piece is split at them.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
// tokenizer.json's name of a behaviour ("Removed", "Isolated", ...); `where` names the field.
Behavior parse_behavior(const std::string& name, const std::string& where);
void split_at(const Text& text, const std::vector<Match>& matches, Behavior behavior,
              std::vector<Text>& pieces);

}  // namespace lat::text
