#pragma once

// The regular expressions tokenizer.json files use, matched by hand with Unicode properties, and
// how a pre-tokenizer turns matches into pieces.
#include <cstddef>
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

// SplitDelimiterBehavior: what becomes of the matches when a piece is split at them.
enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
void split_at(const Text& text, const std::vector<Match>& matches, Behavior behavior,
              std::vector<Text>& pieces);

}  // namespace lat::text
