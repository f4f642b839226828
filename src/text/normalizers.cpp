// Normalizers, as tokenizer.json names them.
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/patterns.hpp"
#include "text/pipeline.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(const BertNormalizerOptions& o) : o_(o) {}

  // Clean, space out CJK, strip accents, lower-case, in this order.
  void normalize(Text& text) const override {
    map_chars(text, [&](char32_t c, std::u32string& out) {
      if (o_.clean_text) {
        if (c == 0 || c == 0xfffd || is_bert_control(c)) return;
        if (is_bert_whitespace(c)) c = U' ';
      }
      if (o_.chinese_chars && is_cjk(c)) {
        out += U' ';
        out += c;
        out += U' ';
      } else {
        out += c;
      }
    });
    if (o_.strip_accents)
      map_chars(text, [](char32_t c, std::u32string& out) { append_stripped(out, c); });
    if (o_.lowercase)
      map_chars(text, [](char32_t c, std::u32string& out) { append_lower(out, c); });
  }

 private:
  BertNormalizerOptions o_;
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps)
      : steps_(std::move(steps)) {}
  void normalize(Text& text) const override {
    for (const auto& s : steps_) s->normalize(text);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> steps_;
};

// SentencePiece's nmt rule: control characters removed, other spaces made ' '.
class Nmt final : public Normalizer {
 public:
  void normalize(Text& text) const override {
    map_chars(text, [](char32_t c, std::u32string& out) {
      if ((c >= 0x1 && c <= 0x8) || c == 0xb || (c >= 0xe && c <= 0x1f) || c == 0x7f || c == 0x8f ||
          c == 0x9f) {
        return;
      }
      const bool space = c == 0x9 || c == 0xa || c == 0xc || c == 0xd || c == 0x1680 ||
                         (c >= 0x200b && c <= 0x200f) || c == 0x2028 || c == 0x2029 ||
                         c == 0x2581 || c == 0xfeff || c == 0xfffd;
      out += space ? U' ' : c;
    });
  }
};

// NFC, NFD, NFKC, NFKD. The text is normalized in pieces that begin at normalization
// boundaries; each new character keeps the origin of its piece's first.
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(Text& text) const override {
    Text out;
    out.base = text.base;
    std::size_t begin = 0;
    for (std::size_t i = 1; i <= text.size(); ++i) {
      if (i < text.size() && !has_boundary_before(form_, text.chars[i])) continue;
      const std::u32string piece = text::normalize(form_, text.chars.substr(begin, i - begin));
      out.chars += piece;
      out.origin.insert(out.origin.end(), piece.size(), text.origin[begin]);
      begin = i;
    }
    text = std::move(out);
  }

 private:
  NormalForm form_;
};

class Lowercase final : public Normalizer {
 public:
  void normalize(Text& text) const override {
    map_chars(text, [](char32_t c, std::u32string& out) { append_lower(out, c); });
  }
};

// Combining marks removed, without decomposing first.
class StripAccents final : public Normalizer {
 public:
  void normalize(Text& text) const override {
    map_chars(text, [](char32_t c, std::u32string& out) {
      if (!is_combining_mark(c)) out += c;
    });
  }
};

// Each match of the pattern becomes `content`, which takes the origin of the match's start.
class Replace final : public Normalizer {
 public:
  Replace(Pattern pattern, std::u32string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(Text& text) const override {
    Text out;
    out.base = text.base;
    for (const auto& m : pattern_.find(text.chars)) {
      if (m.is_match) {
        out.chars += content_;
        out.origin.insert(out.origin.end(), content_.size(), text.origin[m.begin]);
      } else {
        out.chars.append(text.chars, m.begin, m.end - m.begin);
        out.origin.insert(out.origin.end(),
                          text.origin.begin() + static_cast<std::ptrdiff_t>(m.begin),
                          text.origin.begin() + static_cast<std::ptrdiff_t>(m.end));
      }
    }
    text = std::move(out);
  }

 private:
  Pattern pattern_;
  std::u32string content_;
};

// `prepend` before a text that is not empty.
class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::u32string prepend) : prepend_(std::move(prepend)) {}
  void normalize(Text& text) const override {
    if (text.empty()) return;
    text.chars.insert(0, prepend_);
    text.origin.insert(text.origin.begin(), prepend_.size(), text.origin[0]);
  }

 private:
  std::u32string prepend_;
};

// Whitespace (White_Space) removed from either end.
class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(Text& text) const override {
    std::size_t begin = 0, end = text.size();
    if (left_)
      while (begin < end && is_white_space(text.chars[begin])) ++begin;
    if (right_)
      while (end > begin && is_white_space(text.chars[end - 1])) --end;
    if (begin != 0 || end != text.size()) {
      Text kept = text.slice(begin, end);
      kept.base = text.base;
      text = std::move(kept);
    }
  }

 private:
  bool left_, right_;
};

}  // namespace

std::unique_ptr<Normalizer> bert_normalizer(const BertNormalizerOptions& options) {
  return std::make_unique<BertNormalizer>(options);
}

std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& json, const std::string& where,
                                            const BertNormalizerOptions& bert_overrides) {
  if (json.is_null()) return nullptr;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  if (type == "BertNormalizer") {
    // transformers' BERT tokenizers take lower-casing, accent stripping and CJK handling from
    // tokenizer_config.json; text cleaning comes from here.
    BertNormalizerOptions o = bert_overrides;
    o.clean_text = f.boolean("clean_text").value_or(true);
    return bert_normalizer(o);
  }
  if (type == "Precompiled") return precompiled_normalizer(json, where);
  if (type == "Nmt") return std::make_unique<Nmt>();
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkd);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Replace") {
    const auto pattern = json.find("pattern");
    if (pattern == json.end()) f.fail("pattern", "is missing");
    const auto content = f.string("content");
    if (!content) f.fail("content", "must be a string");
    return std::make_unique<Replace>(Pattern(*pattern, where), decode_utf8(*content));
  }
  if (type == "Prepend") {
    const auto prepend = f.string("prepend");
    if (!prepend) f.fail("prepend", "must be a string");
    return std::make_unique<Prepend>(decode_utf8(*prepend));
  }
  if (type == "Strip") {
    return std::make_unique<Strip>(f.boolean("strip_left").value_or(true),
                                   f.boolean("strip_right").value_or(true));
  }
  if (type == "Sequence") {
    const auto it = json.find("normalizers");
    if (it == json.end() || !it->is_array()) f.fail("normalizers", "must be an array");
    std::vector<std::unique_ptr<Normalizer>> steps;
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto step = make_normalizer((*it)[i], where + " normalizers[" + std::to_string(i) + "]",
                                  bert_overrides);
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceNormalizer>(std::move(steps));
  }
  throw Error(ErrorCode::kUnsupported,
              where + ": normalizer '" + type +
                  "' is not one lat runs (BertNormalizer, Precompiled, Nmt, NFC, NFD, NFKC, NFKD, "
                  "Lowercase, StripAccents, Replace, Prepend, Strip, Sequence)");
}

}  // namespace lat::text
