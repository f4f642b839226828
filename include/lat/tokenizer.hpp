#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lat {

// Token ids of one input, ready for the encoder: [CLS] A [SEP] (B [SEP]).
struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;  // 0 for the first text and its specials, 1 for the second
  bool truncated = false;              // word pieces were dropped to fit the maximum length
};

// BERT's WordPiece tokenizer, exactly as Hugging Face's (fast) BertTokenizer: text cleaning,
// CJK characters, lower-casing and accent stripping as tokenizer_config.json says, punctuation
// splitting, greedy longest-match WordPiece with [UNK], special tokens matched in raw text,
// longest-first truncation for pairs. Input is UTF-8; invalid bytes are an Error naming the offset.
class Tokenizer {
 public:
  // Reads tokenizer.json or vocab.txt, and tokenizer_config.json, from a model folder.
  static Tokenizer from_folder(const std::filesystem::path& folder);

  // max_length counts the special tokens; it must be at least 2 (3 for pairs). An empty second
  // text means none, as in transformers.
  Encoding encode(std::string_view text, int max_length) const;
  Encoding encode_pair(std::string_view first, std::string_view second, int max_length) const;

  // The word pieces of a text, without special tokens or truncation.
  std::vector<std::int32_t> word_pieces(std::string_view text) const;

  const std::string& token(std::int32_t id) const;  // "" for ids outside the vocabulary
  std::int32_t vocab_size() const;
  std::int32_t cls_id() const;
  std::int32_t sep_id() const;
  int model_max_length() const;  // from tokenizer_config.json; 0 when it sets none

 private:
  struct Impl;
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace lat
