// Character classes for every code point against Hugging Face tokenizers
// (tests/golden/unicode_classes.txt, written by tools/reference/unicode_classes.py).
#include <fstream>
#include <sstream>

#include "test_support.hpp"
#include "text/unicode.hpp"

namespace lat::text {
namespace {

std::string class_of(char32_t c) {
  std::string base;
  if (c == 0 || c == 0xfffd || is_bert_control(c)) {
    base = "removed";
  } else if (is_bert_whitespace(c)) {
    base = "space";
  } else if (is_bert_punctuation(c)) {
    base = "punct";
  } else {
    base = "word";
  }
  return base;
}

std::u32string strip(char32_t c) {
  std::u32string out;
  append_stripped(out, c);
  return out;
}

std::u32string lower(char32_t c) {
  std::u32string out;
  append_lower(out, c);
  return out;
}

std::u32string parse_cps(std::istringstream& in) {
  std::u32string out;
  std::string hex;
  while (in >> hex) out.push_back(static_cast<char32_t>(std::stoul(hex, nullptr, 16)));
  return out;
}

TEST(Unicode, EveryCodePointIsClassedAsTheReferenceDoes) {
  std::ifstream file(test::golden_dir() / "unicode_classes.txt");
  ASSERT_TRUE(file);
  std::map<char32_t, std::u32string> stripped, lowered;
  std::string line;
  int wrong_class = 0, wrong_strip = 0, wrong_lower = 0;
  while (std::getline(file, line)) {
    std::istringstream in(line);
    std::string kind, first_hex;
    in >> kind >> first_hex;
    if (kind == "#") continue;
    const auto cp = static_cast<char32_t>(std::stoul(first_hex, nullptr, 16));
    if (kind == "R") {
      std::string last_hex, expected;
      in >> last_hex >> expected;
      for (char32_t c = cp; c <= std::stoul(last_hex, nullptr, 16); ++c) {
        if (class_of(c) != expected && ++wrong_class <= 400) {
          ADD_FAILURE() << std::hex << "U+" << static_cast<unsigned>(c) << ": " << class_of(c)
                        << ", reference " << expected;
        }
      }
    } else if (kind == "S") {
      stripped[cp] = parse_cps(in);
    } else if (kind == "L") {
      lowered[cp] = parse_cps(in);
    }
  }
  for (char32_t c = 0; c < 0x110000; ++c) {
    if (c >= 0xd800 && c <= 0xdfff) continue;
    const auto s = stripped.find(c);
    const std::u32string expect_s = s == stripped.end() ? std::u32string(1, c) : s->second;
    if (strip(c) != expect_s && ++wrong_strip <= 400) {
      ADD_FAILURE() << std::hex << "strip U+" << static_cast<unsigned>(c);
    }
    const auto l = lowered.find(c);
    const std::u32string expect_l = l == lowered.end() ? std::u32string(1, c) : l->second;
    if (lower(c) != expect_l && ++wrong_lower <= 400) {
      ADD_FAILURE() << std::hex << "lower U+" << static_cast<unsigned>(c) << " gives U+"
                    << static_cast<unsigned>(lower(c)[0]);
    }
  }
  EXPECT_EQ(wrong_class, 0);
  EXPECT_EQ(wrong_strip, 0);
  EXPECT_EQ(wrong_lower, 0);
}

}  // namespace
}  // namespace lat::text
