#include "text/utf8.hpp"

#include "lat/error.hpp"

namespace lat::text {

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  auto fail = [&](const char* what) {
    throw Error(ErrorCode::kInput,
                "invalid UTF-8 at byte offset " + std::to_string(i) + ": " + what);
  };
  while (i < n) {
    const unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    // The lead byte gives the length, the payload bits and the least value that needs it.
    int len = 4;
    char32_t cp = b & 0x07, min = 0x10000;
    if ((b & 0xe0) == 0xc0) {
      len = 2, cp = b & 0x1f, min = 0x80;
    } else if ((b & 0xf0) == 0xe0) {
      len = 3, cp = b & 0x0f, min = 0x800;
    } else if ((b & 0xf8) != 0xf0) {
      fail("not a lead byte");
    }
    if (i + static_cast<std::size_t>(len) > n) fail("sequence cut short by the end of the text");
    for (int k = 1; k < len; ++k) {
      const unsigned char c = s[i + static_cast<std::size_t>(k)];
      if ((c & 0xc0) != 0x80) fail("missing continuation byte");
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min) fail("overlong encoding");
    if (cp >= 0xd800 && cp <= 0xdfff) fail("encoded surrogate");
    if (cp > 0x10ffff) fail("code point beyond U+10FFFF");
    out.push_back(cp);
    i += static_cast<std::size_t>(len);
  }
  return out;
}

namespace {

// The length of the well-formed sequence at s[i], or of the maximal subpart of an ill-formed one
// (negated), by the table of well-formed byte sequences (Unicode, section 3.9, D92).
int sequence_at(const unsigned char* s, std::size_t n, std::size_t i) {
  const unsigned char b = s[i];
  if (b < 0x80) return 1;
  int len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    if (b == 0xe0) lo = 0xa0;
    if (b == 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    if (b == 0xf0) lo = 0x90;
    if (b == 0xf4) hi = 0x8f;
  } else {
    return -1;
  }
  for (int k = 1; k < len; ++k) {
    const std::size_t at = i + static_cast<std::size_t>(k);
    const unsigned char c = at < n ? s[at] : 0;
    const bool ok = at < n && (k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xbf));
    if (!ok) return -k;
  }
  return len;
}

}  // namespace

std::string decode_utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < bytes.size();) {
    const int len = sequence_at(s, bytes.size(), i);
    if (len > 0) {
      out.append(bytes.substr(i, static_cast<std::size_t>(len)));
      i += static_cast<std::size_t>(len);
    } else {
      out += "\xef\xbf\xbd";
      i += static_cast<std::size_t>(-len);
    }
  }
  return out;
}

bool is_utf8(std::string_view bytes) {
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  for (std::size_t i = 0; i < bytes.size();) {
    const int len = sequence_at(s, bytes.size(), i);
    if (len < 0) return false;
    i += static_cast<std::size_t>(len);
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string encode_utf8(std::u32string_view cps) {
  std::string out;
  out.reserve(cps.size());
  for (char32_t cp : cps) append_utf8(out, cp);
  return out;
}

}  // namespace lat::text
