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
