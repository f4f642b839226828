// SentencePiece's precompiled normalization map (tokenizer.json's Precompiled normalizer): a
// darts-clone double-array trie over UTF-8 keys, whose values index NUL-terminated
// replacements, applied per grapheme cluster as the reference applies it.
#include <unicode/brkiter.h>
#include <unicode/unistr.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

std::optional<std::string> decode_base64(std::string_view in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xff));
    }
  }
  return out;
}

class Precompiled final : public Normalizer {
 public:
  Precompiled(std::vector<std::uint32_t> trie, std::string normalized)
      : trie_(std::move(trie)), normalized_(std::move(normalized)) {}

  void normalize(Text& text) const override {
    if (text.empty()) return;
    // Grapheme clusters, as the reference's unicode-segmentation finds them.
    const icu::UnicodeString u = icu::UnicodeString::fromUTF32(
        reinterpret_cast<const UChar32*>(text.chars.data()), static_cast<int32_t>(text.size()));
    UErrorCode status = U_ZERO_ERROR;
    std::unique_ptr<icu::BreakIterator> it(
        icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
    if (U_FAILURE(status)) throw Error(ErrorCode::kUnsupported, "ICU has no grapheme rules");
    it->setText(u);
    // As the reference: each replacement as changes (new characters replace old ones in order;
    // more are inserted, fewer make the last of them remove the rest), applied by transform.
    std::vector<Change> changes;
    changes.reserve(text.size());
    bool modified = false;
    auto replace = [&](std::string_view replacement, std::size_t replaced) {
      modified = true;
      std::size_t added = 0;
      for (char32_t c : decode_utf8(replacement)) {
        changes.push_back({c, 0});
        ++added;
      }
      const auto diff = static_cast<std::ptrdiff_t>(added) - static_cast<std::ptrdiff_t>(replaced);
      if (diff > 0) {
        for (std::size_t k = changes.size() - static_cast<std::size_t>(diff); k < changes.size();
             ++k)
          changes[k].change = 1;
      } else if (diff < 0 && !changes.empty()) {
        changes.back().change += static_cast<int>(diff);
      }
    };
    std::size_t cp = 0;  // code point index of the cluster's start
    std::string cluster;
    for (int32_t start = it->first(), end = it->next(); end != icu::BreakIterator::DONE;
         start = end, end = it->next()) {
      const auto n = static_cast<std::size_t>(u.countChar32(start, end - start));
      cluster = encode_utf8(std::u32string_view(text.chars).substr(cp, n));
      // A short cluster is looked up whole; otherwise, or when it is not there, each character.
      if (cluster.size() < 6) {
        if (const auto r = lookup(cluster)) {
          replace(*r, n);
          cp += n;
          continue;
        }
      }
      for (std::size_t k = cp; k < cp + n; ++k) {
        std::string one;
        append_utf8(one, text.chars[k]);
        if (const auto r = lookup(one)) {
          replace(*r, 1);
        } else {
          changes.push_back({text.chars[k], 0});
        }
      }
      cp += n;
    }
    if (modified) transform(text, changes);
  }

 private:
  // The replacement of the shortest key that begins `key`, as the reference's transform takes
  // the first result of its common-prefix search.
  std::optional<std::string_view> lookup(std::string_view key) const {
    auto unit = [&](std::size_t pos) -> std::optional<std::uint32_t> {
      if (pos >= trie_.size()) return std::nullopt;
      return trie_[pos];
    };
    auto offset = [](std::uint32_t u) -> std::size_t {
      return static_cast<std::size_t>((u >> 10) << ((u & (1u << 9)) >> 6));
    };
    auto first = unit(0);
    if (!first) return std::nullopt;
    std::size_t pos = offset(*first);
    for (unsigned char c : key) {
      if (c == 0) break;
      pos ^= c;
      const auto u = unit(pos);
      if (!u || (*u & ((1u << 31) | 0xffu)) != c) return std::nullopt;
      pos ^= offset(*u);
      if ((*u >> 8) & 1u) {
        const auto leaf = unit(pos);
        if (!leaf) return std::nullopt;
        const std::size_t begin = *leaf & ((1u << 31) - 1);
        if (begin >= normalized_.size()) return std::nullopt;
        const std::size_t end = normalized_.find('\0', begin);
        std::string_view r(normalized_);
        r = r.substr(begin, (end == std::string::npos ? normalized_.size() : end) - begin);
        return r;
      }
    }
    return std::nullopt;
  }

  std::vector<std::uint32_t> trie_;
  std::string normalized_;  // replacements, each ended by NUL
};

}  // namespace

std::unique_ptr<Normalizer> precompiled_normalizer(const nlohmann::json& json,
                                                   const std::string& where) {
  const io::JsonFields f(json, where);
  const auto map = f.string("precompiled_charsmap");
  if (!map) f.fail("precompiled_charsmap", "must be a base64 string");
  const auto bytes = decode_base64(*map);
  if (!bytes || bytes->size() < 4) f.fail("precompiled_charsmap", "is not valid base64");
  const auto* b = reinterpret_cast<const unsigned char*>(bytes->data());
  const std::size_t trie_size = b[0] | (b[1] << 8) | (b[2] << 16) | (std::size_t{b[3]} << 24);
  if (trie_size % 4 != 0 || trie_size > bytes->size() - 4)
    f.fail("precompiled_charsmap", "has a trie size past its end");
  std::vector<std::uint32_t> trie(trie_size / 4);
  for (std::size_t i = 0; i < trie.size(); ++i) {
    const unsigned char* p = b + 4 + 4 * i;
    trie[i] = p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24);
  }
  std::string normalized = bytes->substr(4 + trie_size);
  // Replacements must be UTF-8: checked once here, not per lookup.
  for (std::size_t start = 0; start < normalized.size();) {
    std::size_t end = normalized.find('\0', start);
    if (end == std::string::npos) end = normalized.size();
    try {
      decode_utf8(std::string_view(normalized).substr(start, end - start));
    } catch (const Error&) {
      f.fail("precompiled_charsmap", "holds a replacement that is not UTF-8");
    }
    start = end + 1;
  }
  return std::make_unique<Precompiled>(std::move(trie), std::move(normalized));
}

}  // namespace lat::text
