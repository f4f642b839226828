#pragma once

// The steps of a tokenizer, as Hugging Face tokenizers composes them from tokenizer.json:
// normalizer -> pre-tokenizer -> model -> post-processor. Each is a small component built from
// its JSON object; a component lat does not run is an error naming it, never an approximation.
#include <array>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/text.hpp"

namespace lat::text {

using Vocab = std::unordered_map<std::string, std::int32_t>;

// Largest vocabulary accepted: far above any real one, small enough to refuse absurd files early.
constexpr std::int64_t kMaxVocab = 1 << 24;

// Rewrites the text of one segment (the text between added tokens).
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(Text& text) const = 0;
};

// Splits a normalized piece into pieces (and may rewrite them); the model tokenizes each piece
// on its own. Empty pieces are dropped, as the reference drops them.
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void split(const Text& text, std::vector<Text>& pieces) const = 0;
};

// Characters [begin, end) of a piece that a token stands for.
struct TokenSpan {
  std::uint32_t begin, end;
};

// Turns one piece into token ids, and, when `spans` is given, appends each token's characters
// (as the reference's offsets within the piece).
class Model {
 public:
  virtual ~Model() = default;
  virtual void tokenize(const std::u32string& word, std::vector<std::int32_t>& ids,
                        std::vector<TokenSpan>* spans) const = 0;
};

// Where the special tokens go around one or two sequences, and each piece's type id.
struct Template {
  struct Piece {
    std::int32_t special = -1;  // a special token's id, or -1 for the sequence `sequence`
    int sequence = 0;           // 0: the first text, 1: the second
    std::int32_t type_id = 0;
  };
  std::vector<Piece> single, pair;
  // The steps that trim offsets (ByteLevel's and RobertaProcessing's trim_offsets), in order:
  // each one's add_prefix_space.
  std::vector<bool> trims{};
  int specials(bool is_pair) const;  // how many special tokens the template adds
};

// A token of tokenizer.json's added_tokens: found in the text before the other steps see it.
struct AddedToken {
  std::u32string content;
  std::int32_t id = 0;
  bool single_word = false;  // matches only where no word character touches it
  bool lstrip = false;       // takes the whitespace before it
  bool rstrip = false;       // takes the whitespace after it
  bool normalized = false;   // matched in the normalized text, else in the raw input
  bool special = false;
};

// Splits a text at the added tokens found in it, as Hugging Face tokenizers does.
class AddedTokenMatcher {
 public:
  explicit AddedTokenMatcher(std::vector<AddedToken> tokens = {});
  struct Span {
    std::size_t begin, end;  // code points
    std::int32_t id;         // the added token's, or -1 for the text between tokens
  };
  std::vector<Span> split(const std::u32string& text) const;

 private:
  std::vector<AddedToken> tokens_;  // longest first
  std::unordered_map<char32_t, std::vector<std::size_t>> by_first_;
};

// Turns token strings back into text, as tokenizer.json's decoder: each step rewrites the list
// of strings (the reference's decode_chain), and the text is their concatenation.
class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode(std::vector<std::string>& tokens) const = 0;
};

// GPT-2's map from bytes to printable characters (byte-level BPE): printable Latin-1 bytes
// stand for themselves, the others for 256 + n in byte order.
const std::array<char32_t, 256>& byte_chars();

// BERT's normalizer: text cleaning, CJK characters spaced out, accents stripped, lower-casing.
struct BertNormalizerOptions {
  bool clean_text = true;
  bool chinese_chars = true;
  bool strip_accents = true;
  bool lowercase = true;
};
std::unique_ptr<Normalizer> bert_normalizer(const BertNormalizerOptions& options);
// SentencePiece's precompiled map (tokenizer.json's Precompiled normalizer object).
std::unique_ptr<Normalizer> precompiled_normalizer(const nlohmann::json& json,
                                                   const std::string& where);
// Whitespace separates words, each punctuation character is a word.
std::unique_ptr<PreTokenizer> bert_pre_tokenizer();
// Greedy longest-match word pieces; a word with an unmatched piece, or longer than
// max_word_chars, is the unknown token.
std::unique_ptr<Model> word_piece(Vocab vocab, std::int32_t unk, std::string prefix,
                                  std::size_t max_word_chars);

// From tokenizer.json's objects; `where` names the file and the field in errors. A null object
// (no such step) gives null.
std::unique_ptr<Normalizer> make_normalizer(const nlohmann::json& json, const std::string& where,
                                            const BertNormalizerOptions& bert_overrides);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& json,
                                                 const std::string& where);
// tokenizer.json's model (the object, checked to be one), and its tokens by id in `tokens`
// (grown as needed).
std::unique_ptr<Model> make_model(const nlohmann::json& json, const std::string& file,
                                  std::vector<std::string>& tokens);
Template make_template(const nlohmann::json& json, const std::string& where);
std::unique_ptr<Decoder> make_decoder(const nlohmann::json& json, const std::string& where);
// BERT's template, for folders with only vocab.txt: [CLS] A [SEP] (B [SEP], type 1).
Template bert_template(std::int32_t cls, std::int32_t sep);
// BERT's decoder, for folders with only vocab.txt: WordPiece with "##", cleaned up.
std::unique_ptr<Decoder> bert_decoder();

}  // namespace lat::text
