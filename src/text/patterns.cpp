// Hand-written matchers for the regular expressions of tokenizer.json files.
#include "text/patterns.hpp"

#include "text/unicode.hpp"

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

}  // namespace lat::text
