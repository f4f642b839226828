// Added tokens found in a text the way the reference's AddedVocabulary finds them.
#include <algorithm>

#include "text/pipeline.hpp"
#include "text/unicode.hpp"

namespace lat::text {

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens) : tokens_(std::move(tokens)) {
  std::erase_if(tokens_, [](const AddedToken& t) { return t.content.empty(); });
  // Longest first, so the first token that matches at a position is the longest.
  std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken& a, const AddedToken& b) {
    return a.content.size() > b.content.size();
  });
  for (std::size_t i = 0; i < tokens_.size(); ++i) by_first_[tokens_[i].content[0]].push_back(i);
}

// Leftmost-longest, non-overlapping matches (Aho-Corasick's LeftmostLongest). A single_word
// match touching a word character is dropped, and the search goes on after it; lstrip and rstrip
// widen a match over the whitespace next to it.
std::vector<AddedTokenMatcher::Span> AddedTokenMatcher::split(const std::u32string& text) const {
  std::vector<Span> out;
  std::size_t done = 0;  // end of the last span
  std::size_t i = 0;
  while (i < text.size() && !tokens_.empty()) {
    const auto candidates = by_first_.find(text[i]);
    const AddedToken* match = nullptr;
    if (candidates != by_first_.end()) {
      for (std::size_t k : candidates->second) {
        const auto& c = tokens_[k].content;
        if (text.compare(i, c.size(), c) == 0) {
          match = &tokens_[k];
          break;
        }
      }
    }
    if (match == nullptr) {
      ++i;
      continue;
    }
    std::size_t start = i;
    std::size_t stop = i + match->content.size();
    i = stop;
    if (match->single_word) {
      const bool word_before = start > 0 && is_rust_word(text[start - 1]);
      const bool word_after = stop < text.size() && is_rust_word(text[stop]);
      if (word_before || word_after) continue;
    }
    if (match->lstrip) {
      while (start > done && is_white_space(text[start - 1])) --start;
    }
    if (match->rstrip) {
      while (stop < text.size() && is_white_space(text[stop])) ++stop;
    }
    if (start > done) out.push_back({done, start, -1});
    out.push_back({start, stop, match->id});
    done = stop;
    i = std::max(i, stop);
  }
  if (done < text.size()) out.push_back({done, text.size(), -1});
  return out;
}

}  // namespace lat::text
