// Unicode properties and normalization from ICU.
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>

#include <array>
#include <cstdint>

#include "lat/error.hpp"
#include "text/unicode.hpp"

namespace lat::text {
namespace {

bool in_categories(char32_t cp, std::uint32_t mask) {
  return (U_MASK(u_charType(static_cast<UChar32>(cp))) & mask) != 0;
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status))
    throw Error(ErrorCode::kUnsupported, std::string("ICU ") + what + ": " + u_errorName(status));
}

// A frozen set from an ICU pattern.
icu::UnicodeSet make_set(const char16_t* pattern) {
  UErrorCode status = U_ZERO_ERROR;
  icu::UnicodeSet set(icu::UnicodeString(pattern), status);
  check(status, "character set");
  set.freeze();
  return set;
}

// The four forms restricted to the characters of Unicode 11.
struct Normalizers {
  icu::UnicodeSet known = make_set(u"[:age=11.0:]");
  std::array<icu::FilteredNormalizer2*, 4> forms{};

  Normalizers() {
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* base[] = {
        icu::Normalizer2::getNFCInstance(status), icu::Normalizer2::getNFDInstance(status),
        icu::Normalizer2::getNFKCInstance(status), icu::Normalizer2::getNFKDInstance(status)};
    check(status, "normalizer");
    for (std::size_t i = 0; i < forms.size(); ++i)
      forms[i] = new icu::FilteredNormalizer2(*base[i], known);
  }
  ~Normalizers() {
    for (auto* f : forms) delete f;
  }
  Normalizers(const Normalizers&) = delete;
  Normalizers& operator=(const Normalizers&) = delete;

  const icu::Normalizer2& operator[](NormalForm form) const {
    return *forms[static_cast<std::size_t>(form)];
  }
};

const Normalizers& normalizers() {
  static const Normalizers n;
  return n;
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

std::u32string normalize(NormalForm form, const std::u32string& text) {
  icu::UnicodeString in;
  for (char32_t c : text) in.append(static_cast<UChar32>(c));
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString out = normalizers()[form].normalize(in, status);
  check(status, "normalization");
  std::u32string result;
  result.reserve(static_cast<std::size_t>(out.length()));
  for (std::int32_t i = 0; i < out.length(); i = out.moveIndex32(i, 1))
    result.push_back(static_cast<char32_t>(out.char32At(i)));
  return result;
}

bool has_boundary_before(NormalForm form, char32_t cp) {
  return normalizers()[form].hasBoundaryBefore(static_cast<UChar32>(cp)) != 0;
}

void decompose(bool compatible, char32_t cp, std::u32string& out) {
  icu::UnicodeString d;
  if (!normalizers()[compatible ? NormalForm::kNfkd : NormalForm::kNfd].getDecomposition(
          static_cast<UChar32>(cp), d)) {
    out.push_back(cp);
    return;
  }
  for (std::int32_t i = 0; i < d.length(); i = d.moveIndex32(i, 1))
    out.push_back(static_cast<char32_t>(d.char32At(i)));
}

std::uint8_t combining_class(char32_t cp) {
  return normalizers()[NormalForm::kNfd].getCombiningClass(static_cast<UChar32>(cp));
}

char32_t compose(char32_t a, char32_t b) {
  const UChar32 c =
      normalizers()[NormalForm::kNfc].composePair(static_cast<UChar32>(a), static_cast<UChar32>(b));
  return c < 0 ? 0 : static_cast<char32_t>(c);
}

bool is_combining_mark(char32_t cp) {
  static const icu::UnicodeSet marks =
      make_set(u"[[[:M:]&[:age=9.0:]]-[\\U000111C9]\\u1CF2\\u1CF3]");
  return marks.contains(static_cast<UChar32>(cp)) != 0;
}

}  // namespace lat::text
