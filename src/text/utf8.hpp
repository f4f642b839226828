#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lat::text {

// Decodes UTF-8; invalid input (bad lead or continuation bytes, overlong forms, surrogates,
// values past U+10FFFF, truncated sequences) is an Error that gives the byte offset.
std::u32string decode_utf8(std::string_view bytes);

// Bytes as UTF-8 with each maximal ill-formed subpart made U+FFFD (Rust's
// String::from_utf8_lossy, Python's errors="replace").
std::string decode_utf8_lossy(std::string_view bytes);
// Whether bytes are well-formed UTF-8.
bool is_utf8(std::string_view bytes);

void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view cps);

}  // namespace lat::text
