#pragma once

// Text as it moves through the tokenizer's steps: code points, and for each the bytes of the
// input it came from, as Hugging Face tokenizers' NormalizedString keeps its alignments. Token
// offsets are read from them; ids depend on them in one place: Metaspace's "first" scheme
// prepends only to the piece that begins where the input begins.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lat::text {

// Bytes [start, stop) of the input.
struct Span {
  std::uint32_t start = 0, stop = 0;
};

struct Text {
  std::u32string chars;
  std::vector<Span> origin;  // one per code point
  std::uint32_t base = 0;    // where the text begins in the input

  std::size_t size() const { return chars.size(); }
  bool empty() const { return chars.empty(); }

  // Characters [begin, end); it begins where its first character came from, as the reference's
  // slices do.
  Text slice(std::size_t begin, std::size_t end) const {
    Text t;
    t.chars = chars.substr(begin, end - begin);
    t.origin.assign(origin.begin() + static_cast<std::ptrdiff_t>(begin),
                    origin.begin() + static_cast<std::ptrdiff_t>(end));
    t.base = begin < origin.size() ? origin[begin].start : base;
    return t;
  }
};

// The input from byte offset `base` on, each code point from its own bytes.
inline Text make_text(const std::u32string& chars, std::uint32_t base) {
  Text t;
  t.chars = chars;
  t.base = base;
  t.origin.reserve(chars.size());
  std::uint32_t at = base;
  for (char32_t c : chars) {
    const std::uint32_t next = at + (c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4);
    t.origin.push_back({at, next});
    at = next;
  }
  return t;
}

// Rewrites a text character by character: map(c, out) appends what c becomes (nothing removes
// it), and each new character keeps the origin of the one it replaces.
template <class Map>
void map_chars(Text& text, Map map) {
  Text out;
  out.base = text.base;
  out.chars.reserve(text.size());
  out.origin.reserve(text.size());
  std::u32string piece;
  for (std::size_t i = 0; i < text.size(); ++i) {
    piece.clear();
    map(text.chars[i], piece);
    out.chars += piece;
    out.origin.insert(out.origin.end(), piece.size(), text.origin[i]);
  }
  text = std::move(out);
}

// A character of a rewritten text, and what it does to the old one, as the reference's
// NormalizedString::transform takes them: `change` 0 replaces the next old character, -n
// replaces it and removes the n after it, 1 is inserted.
struct Change {
  char32_t c;
  int change;
};

// Rewrites a text as the reference's transform does, `skip` old characters removed first. A
// character that replaces takes the origin of the old character it replaces; an inserted one,
// that of the last old character replaced before it. Origins follow positions, not identity:
// after reordering, a character may take another's origin, as in the reference.
inline void transform(Text& text, const std::vector<Change>& changes, std::size_t skip = 0) {
  Text out;
  out.base = text.base;
  out.chars.reserve(changes.size());
  out.origin.reserve(changes.size());
  std::size_t at = skip;  // old characters consumed
  const Span none{text.base, text.base};
  for (const auto& [c, change] : changes) {
    Span from = none;
    if (change > 0) {
      if (at > 0 && at - 1 < text.size()) from = text.origin[at - 1];
    } else {
      if (at < text.size()) from = text.origin[at];
      at += 1 + static_cast<std::size_t>(-change);
    }
    out.chars.push_back(c);
    out.origin.push_back(from);
  }
  text = std::move(out);
}

}  // namespace lat::text
