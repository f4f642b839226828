#pragma once

#include <cstdint>
#include <string>

namespace lat::text {

// Character classes and mappings exactly as Hugging Face's BERT normaliser and pre-tokeniser
// apply them. Their Unicode data is not the current standard's (see bert_unicode_data.inc).
bool is_bert_whitespace(char32_t cp);   // White_Space, plus \t \n \r
bool is_bert_control(char32_t cp);      // removed by text cleaning (Cc, Cf, Co of the reference)
bool is_cjk(char32_t cp);               // CJK ideographs, each made a word of its own
bool is_bert_punctuation(char32_t cp);  // ASCII punctuation or P*: split off as words

// Accent stripping of one character: its canonical decomposition without non-spacing marks.
void append_stripped(std::u32string& out, char32_t cp);

// Full lower-case mapping of one character.
void append_lower(std::u32string& out, char32_t cp);

}  // namespace lat::text

namespace lat::text {

// Unicode properties of the current standard (ICU's data), as Rust's regex and char methods
// see them; the reference's added-token and pre-tokenizer rules are written with those.
bool is_white_space(char32_t cp);  // White_Space: Rust's char::is_whitespace and regex \s
bool is_rust_word(char32_t cp);    // regex \w: Alphabetic, M, Nd, Pc, Join_Control
bool is_letter(char32_t cp);       // \p{L}
bool is_number(char32_t cp);       // \p{N}

// Unicode normalization as the reference's unicode-normalization data does it: that data is of
// Unicode 11, so characters assigned later pass unchanged (ICU's data is newer; e.g. U+1F16C,
// U+32FF and U+1E030 decompose in ICU 72, not in the reference).
enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::u32string normalize(NormalForm form, const std::u32string& text);
// Whether normalization never changes text across a boundary before cp: the text can be
// normalized in pieces that begin at such characters.
bool has_boundary_before(NormalForm form, char32_t cp);
// The pieces of normalization, with the same Unicode 11 data: a character's full canonical (or
// compatibility) decomposition appended to `out` (itself when it has none), its canonical
// combining class, and the primary composite of two characters (0 when there is none).
void decompose(bool compatible, char32_t cp, std::u32string& out);
std::uint8_t combining_class(char32_t cp);
char32_t compose(char32_t a, char32_t b);

// The reference's StripAccents test (unicode-normalization's is_combining_mark): General
// Category M as of Unicode 9, where U+1CF2 and U+1CF3 were still marks and U+111C9 was not.
bool is_combining_mark(char32_t cp);

}  // namespace lat::text
