// Pre-tokenizers, as tokenizer.json names them.
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"
#include "text/unicode.hpp"

namespace lat::text {
namespace {

class BertPreTokenizer final : public PreTokenizer {
 public:
  void split(const std::u32string& text, std::vector<std::u32string>& words) const override {
    std::u32string word;
    auto flush = [&] {
      if (!word.empty()) words.push_back(word);
      word.clear();
    };
    for (char32_t c : text) {
      if (is_bert_whitespace(c)) {
        flush();
      } else if (is_bert_punctuation(c)) {
        flush();
        word.push_back(c);
        flush();
      } else {
        word.push_back(c);
      }
    }
    flush();
  }
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void split(const std::u32string& text, std::vector<std::u32string>& words) const override {
    std::vector<std::u32string> pieces{text}, next;
    for (const auto& s : steps_) {
      next.clear();
      for (const auto& p : pieces) s->split(p, next);
      pieces.swap(next);
    }
    words.insert(words.end(), pieces.begin(), pieces.end());
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

}  // namespace

std::unique_ptr<PreTokenizer> bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& json,
                                                 const std::string& where) {
  if (json.is_null()) return nullptr;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  if (type == "BertPreTokenizer") return bert_pre_tokenizer();
  if (type == "Sequence") {
    const auto it = json.find("pretokenizers");
    if (it == json.end() || !it->is_array()) f.fail("pretokenizers", "must be an array");
    std::vector<std::unique_ptr<PreTokenizer>> steps;
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto step = make_pre_tokenizer((*it)[i], where + " pretokenizers[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(steps));
  }
  throw Error(ErrorCode::kUnsupported, where + ": pre-tokenizer '" + type +
                                           "' is not one lat runs (BertPreTokenizer, Sequence)");
}

}  // namespace lat::text
