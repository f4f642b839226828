#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lat/export.hpp"

namespace lat {

// Where a token came from: byte offsets [start, stop) into the text it was taken from (the first
// or the second of a pair, as type_ids says; RoBERTa's are all 0, and its second text's tokens
// follow the first's closing special tokens); (0, 0) for special tokens the post-processor adds.
// They are Hugging Face tokenizers' offsets (its Rust crate's byte offsets) through every step:
// a character made by normalization points at the characters it came from. As there, trimming
// (RoBERTa's trim_offsets) can leave an offset inside a character of several bytes.
struct Offset {
  std::int32_t start = 0, stop = 0;
  friend bool operator==(const Offset&, const Offset&) = default;
};

// Token ids of one input, ready for the encoder: special tokens around one text or two, as the
// folder's post-processor places them ([CLS] A [SEP] (B [SEP]) for BERT).
struct Encoding {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;  // 0 for the first text and its specials, 1 for the second
  bool truncated = false;              // tokens were dropped to fit the maximum length
  std::vector<Offset> offsets{};       // one per id; empty where the caller built the Encoding
};

// Special tokens by role; each family names them its own way ([CLS] or <s>, ...).
enum class SpecialToken {
  kCls,   // what begins an input: [CLS], <s>
  kSep,   // what ends a text: [SEP], </s>
  kPad,   // [PAD], <pad>
  kUnk,   // [UNK], <unk>
  kMask,  // [MASK], <mask>
};

// A tokenizer exactly as Hugging Face's (fast) tokenizer of the folder: added tokens matched in
// the raw text, then normalizer -> pre-tokenizer -> model -> post-processor as tokenizer.json
// composes them (BERT's, from vocab.txt, when there is no tokenizer.json), with longest-first
// truncation for pairs. Input is UTF-8; invalid bytes are an Error naming the offset.
class LAT_EXPORT Tokenizer {
 public:
  // Reads tokenizer.json or vocab.txt, and tokenizer_config.json, from a model folder.
  static Tokenizer from_folder(const std::filesystem::path& folder);

  // max_length counts the special tokens; it must leave room for them. An empty second text is
  // an empty second sequence ([CLS] a [SEP] [SEP] for BERT), as the tokenizers crate,
  // sentence-transformers' CrossEncoder and TEI read pairs.
  Encoding encode(std::string_view text, int max_length) const;
  Encoding encode_pair(std::string_view first, std::string_view second, int max_length) const;

  // The token ids of a text, without special tokens or truncation.
  std::vector<std::int32_t> token_ids(std::string_view text) const;

  const std::string& token(std::int32_t id) const;  // "" for ids outside the vocabulary
  // A special or added special token (tokenizer.json's added_tokens with special: true, and the
  // roles' tokens).
  bool is_special(std::int32_t id) const;
  // The text of token ids, as tokenizers' decode(ids, skip_special_tokens) gives it, with the
  // folder's decoder (tokenizer.json's "decoder"; BERT's WordPiece decoder for vocab.txt
  // folders). Ids outside the vocabulary are skipped. A decoder lat does not run is an Error
  // here (the folder loads).
  std::string decode(std::span<const std::int32_t> ids, bool skip_special_tokens = true) const;
  std::int32_t vocab_size() const;
  std::optional<std::int32_t> special_id(SpecialToken role) const;  // when the folder has one
  int model_max_length() const;  // from tokenizer_config.json; 0 when it sets none

 private:
  struct LAT_HIDDEN Impl;
  LAT_HIDDEN explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace lat
