// Normalizers, as tokenizer.json names them.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

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

  // Clean, space out CJK, strip accents, lower-case, in this order. Each step maps characters
  // one by one (every new character from one old character), so the four run in one pass.
  void normalize(Text& text) const override {
    std::u32string cleaned, stripped;
    map_chars(text, [&](char32_t c, std::u32string& out) {
      if (o_.clean_text) {
        if (c == 0 || c == 0xfffd || is_bert_control(c)) return;
        if (is_bert_whitespace(c)) c = U' ';
      }
      cleaned.clear();
      if (o_.chinese_chars && is_cjk(c)) {
        cleaned += U' ';
        cleaned += c;
        cleaned += U' ';
      } else {
        cleaned += c;
      }
      if (o_.strip_accents) {
        stripped.clear();
        for (char32_t d : cleaned) append_stripped(stripped, d);
      } else {
        stripped.swap(cleaned);
      }
      if (o_.lowercase) {
        for (char32_t d : stripped) append_lower(out, d);
      } else {
        out += stripped;
      }
    });
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

// The reference's normalization of one piece (unicode-normalization-alignments, which
// tokenizers' NFC, NFD, NFKC and NFKD run), with the change of each character: decomposition
// (each character's first 0, the others inserted), canonical ordering of the marks after each
// starter, then, for the composed forms, composition, where a composite replaces its first
// character and removes the others.
void reference_changes(NormalForm form, std::u32string_view in, std::vector<Change>& out) {
  const bool compatible = form == NormalForm::kNfkc || form == NormalForm::kNfkd;
  struct Item {
    std::uint8_t ccc;
    char32_t c;
    int change;
  };
  std::vector<Item> items;
  std::size_t run = 0;  // where the marks still to be ordered begin
  std::u32string parts;
  auto by_class = [](const Item& a, const Item& b) { return a.ccc < b.ccc; };
  for (char32_t c : in) {
    parts.clear();
    decompose(compatible, c, parts);
    for (std::size_t k = 0; k < parts.size(); ++k) {
      const std::uint8_t ccc = combining_class(parts[k]);
      if (ccc == 0) {
        std::stable_sort(items.begin() + static_cast<std::ptrdiff_t>(run), items.end(), by_class);
        run = items.size();
      }
      items.push_back({ccc, parts[k], k == 0 ? 0 : 1});
    }
  }
  std::stable_sort(items.begin() + static_cast<std::ptrdiff_t>(run), items.end(), by_class);
  if (form == NormalForm::kNfd || form == NormalForm::kNfkd) {
    for (const auto& i : items) out.push_back({i.c, i.change});
    return;
  }
  // The reference's Recompositions, step for step.
  std::optional<Change> composee;
  std::optional<std::uint8_t> last_ccc;
  std::vector<Change> blocked;
  for (const auto& [ccc, c, change] : items) {
    if (!composee) {
      if (ccc != 0) {
        out.push_back({c, change});
      } else {
        composee = Change{c, change};
      }
      continue;
    }
    const bool is_blocked = last_ccc && *last_ccc >= ccc;
    if (is_blocked && ccc == 0) {
      out.push_back(*composee);
      out.insert(out.end(), blocked.begin(), blocked.end());
      blocked.clear();
      composee = Change{c, change};
      last_ccc.reset();
      continue;
    }
    if (!is_blocked) {
      if (const char32_t r = compose(composee->c, c); r != 0) {
        composee = Change{r, composee->change + change - 1};
        continue;
      }
      if (!last_ccc && ccc == 0) {
        out.push_back(*composee);
        composee = Change{c, change};
        continue;
      }
    }
    blocked.push_back({c, change});
    last_ccc = ccc;
  }
  if (composee) out.push_back(*composee);
  out.insert(out.end(), blocked.begin(), blocked.end());
}

// NFC, NFD, NFKC, NFKD. The text is normalized by ICU in pieces that begin at normalization
// boundaries; the reference's changes of each piece give the origins (when they give ICU's
// characters, which they do but for a disagreement of the two; then each new character takes
// the origin of its piece's first).
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void normalize(Text& text) const override {
    std::vector<Change> changes, piece_changes;
    changes.reserve(text.size());
    std::size_t begin = 0;
    for (std::size_t i = 1; i <= text.size(); ++i) {
      if (i < text.size() && !has_boundary_before(form_, text.chars[i])) continue;
      const std::u32string_view in = std::u32string_view(text.chars).substr(begin, i - begin);
      const std::u32string piece = text::normalize(form_, std::u32string(in));
      piece_changes.clear();
      reference_changes(form_, in, piece_changes);
      bool same = piece_changes.size() == piece.size();
      std::size_t consumed = 0;
      for (std::size_t k = 0; same && k < piece.size(); ++k) {
        same = piece_changes[k].c == piece[k];
        if (piece_changes[k].change <= 0)
          consumed += 1 + static_cast<std::size_t>(-piece_changes[k].change);
      }
      if (same && consumed == in.size()) {
        changes.insert(changes.end(), piece_changes.begin(), piece_changes.end());
      } else {
        for (std::size_t k = 0; k < piece.size(); ++k)
          changes.push_back({piece[k], k == 0 ? 1 - static_cast<int>(in.size()) : 1});
      }
      begin = i;
    }
    transform(text, changes);
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

// Each match of the pattern becomes `content`, which takes the origin of the match's last
// character, as the reference's replace does.
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
        out.origin.insert(out.origin.end(), content_.size(), text.origin[m.end - 1]);
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
