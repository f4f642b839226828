// Normalizers, as tokenizer.json names them.
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"
#include "text/unicode.hpp"

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
                  "' is not one lat runs (BertNormalizer, Precompiled, Nmt, Sequence)");
}

}  // namespace lat::text
