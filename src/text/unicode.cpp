#include "text/unicode.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>

namespace lat::text {
namespace {

enum class CharClass : std::uint8_t { kWord, kPunct, kSpace, kRemoved };

struct ClassRun {
  char32_t first, last;
  CharClass cls;
};

struct Mapping {
  char32_t from;
  std::uint8_t length;
  char32_t to[3];
};

#include "text/bert_unicode_data.inc"

CharClass class_of(char32_t cp) {
  const auto it = std::upper_bound(std::begin(kClassRuns), std::end(kClassRuns), cp,
                                   [](char32_t c, const ClassRun& r) { return c < r.first; });
  if (it == std::begin(kClassRuns)) return CharClass::kWord;
  const ClassRun& run = *std::prev(it);
  return cp <= run.last ? run.cls : CharClass::kWord;
}

template <std::size_t N>
const Mapping* find(const Mapping (&table)[N], char32_t cp) {
  const auto it = std::lower_bound(std::begin(table), std::end(table), cp,
                                   [](const Mapping& m, char32_t c) { return m.from < c; });
  return it != std::end(table) && it->from == cp ? &*it : nullptr;
}

void append(std::u32string& out, const Mapping* m, char32_t cp) {
  if (m == nullptr) {
    out.push_back(cp);
  } else {
    out.append(m->to, m->length);
  }
}

}  // namespace

bool is_bert_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09:
    case 0x0a:
    case 0x0b:
    case 0x0c:
    case 0x0d:
    case 0x20:
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200a;
  }
}

bool is_bert_control(char32_t cp) {
  return cp != 0xfffd && class_of(cp) == CharClass::kRemoved;  // U+FFFD is removed, not a control
}

bool is_bert_punctuation(char32_t cp) { return class_of(cp) == CharClass::kPunct; }

bool is_cjk(char32_t cp) {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
         (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
         (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
         (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}

void append_stripped(std::u32string& out, char32_t cp) {
  // Hangul syllables decompose by arithmetic into their jamo (Unicode, section 3.12).
  constexpr char32_t kSBase = 0xac00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11a7;
  constexpr char32_t kVCount = 21, kTCount = 28, kSCount = 11172;
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const char32_t s = cp - kSBase;
    out.push_back(kLBase + s / (kVCount * kTCount));
    out.push_back(kVBase + (s % (kVCount * kTCount)) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  append(out, find(kStripMappings, cp), cp);
}

void append_lower(std::u32string& out, char32_t cp) { append(out, find(kLowerMappings, cp), cp); }

}  // namespace lat::text
