// Unicode properties from ICU.
#include <unicode/uchar.h>

#include <cstdint>

#include "text/unicode.hpp"

namespace lat::text {
namespace {

bool in_categories(char32_t cp, std::uint32_t mask) {
  return (U_MASK(u_charType(static_cast<UChar32>(cp))) & mask) != 0;
}

}  // namespace

bool is_white_space(char32_t cp) { return u_isUWhiteSpace(static_cast<UChar32>(cp)) != 0; }

bool is_rust_word(char32_t cp) {
  const auto c = static_cast<UChar32>(cp);
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         in_categories(cp, U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK);
}

bool is_letter(char32_t cp) { return in_categories(cp, U_GC_L_MASK); }
bool is_number(char32_t cp) { return in_categories(cp, U_GC_N_MASK); }

}  // namespace lat::text
