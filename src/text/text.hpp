#pragma once

// Text as it moves through the tokenizer's steps: code points, and for each the byte offset in
// the input it came from, as Hugging Face tokenizers keeps its alignments. Ids depend on them in
// one place: Metaspace's "first" scheme prepends only to the piece that begins where the input
// begins.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lat::text {

struct Text {
  std::u32string chars;
  std::vector<std::uint32_t> origin;  // one per code point
  std::uint32_t base = 0;             // where the text begins in the input

  std::size_t size() const { return chars.size(); }
  bool empty() const { return chars.empty(); }

  // Characters [begin, end); it begins where its first character came from, as the reference's
  // slices do.
  Text slice(std::size_t begin, std::size_t end) const {
    Text t;
    t.chars = chars.substr(begin, end - begin);
    t.origin.assign(origin.begin() + static_cast<std::ptrdiff_t>(begin),
                    origin.begin() + static_cast<std::ptrdiff_t>(end));
    t.base = begin < origin.size() ? origin[begin] : base;
    return t;
  }
};

// The input from byte offset `base` on, one origin per code point.
inline Text make_text(const std::u32string& chars, std::uint32_t base) {
  Text t;
  t.chars = chars;
  t.base = base;
  t.origin.reserve(chars.size());
  std::uint32_t at = base;
  for (char32_t c : chars) {
    t.origin.push_back(at);
    at += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
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

}  // namespace lat::text
