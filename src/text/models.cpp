// Tokenizer models: how one word becomes token ids.
#include <optional>

#include "text/pipeline.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

class WordPiece final : public Model {
 public:
  WordPiece(const Vocab& vocab, std::int32_t unk, std::string prefix, std::size_t max_word_chars)
      : vocab_(vocab), unk_(unk), prefix_(std::move(prefix)), max_word_chars_(max_word_chars) {}

  void tokenize(const std::u32string& word, std::vector<std::int32_t>& out) const override {
    if (word.size() > max_word_chars_) {
      out.push_back(unk_);
      return;
    }
    const std::size_t before = out.size();
    std::size_t start = 0;
    std::string piece;
    while (start < word.size()) {
      std::size_t end = word.size();
      std::optional<std::int32_t> found;
      for (; end > start; --end) {
        piece = start > 0 ? prefix_ : std::string();
        for (std::size_t i = start; i < end; ++i) append_utf8(piece, word[i]);
        if (const auto it = vocab_.find(piece); it != vocab_.end()) {
          found = it->second;
          break;
        }
      }
      if (!found) {  // one unmatched piece makes the whole word unknown
        out.resize(before);
        out.push_back(unk_);
        return;
      }
      out.push_back(*found);
      start = end;
    }
  }

 private:
  const Vocab& vocab_;  // the tokenizer's, which outlives its model
  std::int32_t unk_;
  std::string prefix_;
  std::size_t max_word_chars_;
};

}  // namespace

std::unique_ptr<Model> word_piece(const Vocab& vocab, std::int32_t unk, std::string prefix,
                                  std::size_t max_word_chars) {
  return std::make_unique<WordPiece>(vocab, unk, std::move(prefix), max_word_chars);
}

}  // namespace lat::text
