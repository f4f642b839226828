#pragma once

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

}  // namespace lat::text
