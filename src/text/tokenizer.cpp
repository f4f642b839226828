#include "lat/tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace lat {
namespace fs = std::filesystem;

namespace {

// One text's tokens, and their offsets when asked for.
struct Tokens {
  std::vector<std::int32_t> ids;
  std::vector<Offset> offsets;
};

// The characters that offset trimming skips: ByteLevel's space (U+0120) and White_Space.
bool is_trimmed(char32_t c) { return c == 0x120 || text::is_white_space(c); }

// How many characters at the start and at the end of a token are trimmed.
struct TrimCounts {
  std::uint16_t leading = 0, trailing = 0;
};
TrimCounts trim_counts(std::u32string_view chars) {
  std::size_t lead = 0, trail = 0;
  while (lead < chars.size() && is_trimmed(chars[lead])) ++lead;
  while (trail < chars.size() && is_trimmed(chars[chars.size() - 1 - trail])) ++trail;
  auto clamp = [](std::size_t n) {
    return static_cast<std::uint16_t>(std::min<std::size_t>(n, 0xffff));
  };
  return {clamp(lead), clamp(trail)};
}

}  // namespace

struct Tokenizer::Impl {
  text::Vocab vocab;                         // the model's tokens and the added tokens
  std::vector<std::string> tokens;           // id -> token
  std::vector<text::AddedToken> added;       // as tokenizer.json lists them
  text::AddedTokenMatcher raw_added;         // matched in the input
  text::AddedTokenMatcher normalized_added;  // matched in the normalized text
  std::unique_ptr<text::Normalizer> normalizer;
  std::unique_ptr<text::PreTokenizer> pre_tokenizer;
  std::unique_ptr<text::Model> model;
  text::Template post;
  std::unique_ptr<text::Decoder> decoder;
  std::optional<Error> decoder_error;  // a decoder lat does not run: refused by decode()
  std::vector<std::string> decoded;    // id -> what decode() reads (normalized added tokens)
  std::unordered_set<std::string> special_contents;  // added special tokens: decode() skips them
  std::vector<bool> special_ids;                     // by id: is_special()
  std::vector<TrimCounts> token_trims;               // by id, when the post-processor trims offsets
  std::optional<std::int32_t> special[5];            // by SpecialToken
  int model_max_length = 0;

  void read_vocab_txt(const fs::path& file);
  // Model and added tokens; the other steps come after tokenizer_config.json.
  nlohmann::json read_tokenizer_json(const fs::path& file);
  // Splits the added tokens into the two matchers, normalizing the contents of those matched
  // in normalized text.
  void build_matchers();
  // Decoding and offsets: what each id decodes to, which are special, how tokens trim.
  void build_decoding();
  // The ids of a text, and their offsets when `with_offsets`.
  void tokenize(std::string_view input, Tokens& out, bool with_offsets) const;
  void add_words(const text::Text& text, Tokens& out, bool with_offsets) const;
  // Appends the offset of a token that stands for characters [begin, end) of `text`, trimmed as
  // the post-processor trims.
  void add_offset(const text::Text& text, std::size_t begin, std::size_t end, TrimCounts trim,
                  Tokens& out) const;
  Encoding process(Tokens a, const Tokens* b, bool truncated) const;
  // Tokens left for the text(s) within max_length once the template's special tokens are in.
  std::size_t room(bool pair, int max_length) const;
};

void Tokenizer::Impl::read_vocab_txt(const fs::path& file) {
  Impl& t = *this;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, file.string() + ": cannot open");
  std::string line;
  std::int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (id >= text::kMaxVocab)
      throw Error(ErrorCode::kFormat, file.string() + ": more than 2^24 tokens");
    t.vocab[line] = id;  // a repeated token keeps its last id, as in transformers
    t.tokens.push_back(line);
    ++id;
  }
}

nlohmann::json Tokenizer::Impl::read_tokenizer_json(const fs::path& file) {
  Impl& t = *this;
  const auto json = io::read_json(file);
  const io::JsonFields top(json, file.string());
  const auto model_json = json.find("model");
  if (model_json == json.end() || !model_json->is_object())
    top.fail("model", "is missing or not an object");
  t.model = text::make_model(*model_json, file.string(), t.tokens);
  for (std::size_t i = 0; i < t.tokens.size(); ++i)
    t.vocab.emplace(t.tokens[i], static_cast<std::int32_t>(i));
  if (const auto added_json = json.find("added_tokens");
      added_json != json.end() && added_json->is_array()) {
    for (const auto& a : *added_json) {
      const io::JsonFields af(a, file.string() + " (added_tokens)");
      const auto content = af.string("content");
      const auto id = af.integer("id");
      if (!content || content->empty() || !id || *id < 0 || *id >= text::kMaxVocab) {
        af.fail("content", "and 'id' must name a non-empty token and its id");
      }
      text::AddedToken token;
      token.content = text::decode_utf8(*content);
      token.id = static_cast<std::int32_t>(*id);
      token.single_word = af.boolean("single_word").value_or(false);
      token.lstrip = af.boolean("lstrip").value_or(false);
      token.rstrip = af.boolean("rstrip").value_or(false);
      token.normalized = af.boolean("normalized").value_or(false);
      token.special = af.boolean("special").value_or(false);
      t.added.push_back(std::move(token));
      if (static_cast<std::size_t>(*id) >= t.tokens.size())
        t.tokens.resize(static_cast<std::size_t>(*id) + 1);
      t.tokens[static_cast<std::size_t>(*id)] = *content;
      t.vocab[*content] = static_cast<std::int32_t>(*id);
    }
  }
  return json;
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_folder(const fs::path& folder) {
  auto t = std::make_shared<Impl>();
  std::error_code ec;
  const fs::path json_file = folder / "tokenizer.json";
  const fs::path txt_file = folder / "vocab.txt";
  fs::path vocab_file;
  nlohmann::json json;
  if (fs::exists(json_file, ec)) {
    vocab_file = json_file;
    json = t->read_tokenizer_json(json_file);
  } else if (fs::exists(txt_file, ec)) {
    vocab_file = txt_file;
    t->read_vocab_txt(txt_file);
  } else {
    throw Error(ErrorCode::kIo,
                folder.string() + ": neither tokenizer.json nor vocab.txt is there");
  }
  if (t->vocab.empty())
    throw Error(ErrorCode::kFormat, vocab_file.string() + ": the vocabulary is empty");

  // tokenizer_config.json names the special tokens, and decides BERT's normalizer, as
  // transformers does when it loads the folder.
  text::BertNormalizerOptions bert;
  std::optional<bool> strip_accents;
  std::string names[] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"};  // by SpecialToken
  const fs::path config_file = folder / "tokenizer_config.json";
  if (fs::exists(config_file, ec)) {
    const auto config = io::read_json(config_file);
    const io::JsonFields f(config, config_file.string());
    bert.lowercase = f.boolean("do_lower_case").value_or(true);
    strip_accents = f.boolean("strip_accents");
    bert.chinese_chars = f.boolean("tokenize_chinese_chars").value_or(true);
    // Very large values stand for "no limit" in transformers.
    if (const auto len = f.number("model_max_length"); len && *len >= 1 && *len < 1e9) {
      t->model_max_length = static_cast<int>(*len);
    }
    auto special = [&](const char* key, std::string& value) {
      const auto it = config.find(key);
      if (it == config.end() || it->is_null()) return;
      if (it->is_string()) {
        value = it->get<std::string>();
      } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        value = (*it)["content"].get<std::string>();
      } else {
        f.fail(key, "must be a token string");
      }
    };
    const char* keys[] = {"cls_token", "sep_token", "pad_token", "unk_token", "mask_token"};
    for (std::size_t r = 0; r < std::size(keys); ++r) special(keys[r], names[r]);
  }
  bert.strip_accents = strip_accents.value_or(bert.lowercase);
  for (std::size_t r = 0; r < std::size(names); ++r) {
    if (const auto it = t->vocab.find(names[r]); it != t->vocab.end()) t->special[r] = it->second;
  }
  auto require = [&](SpecialToken role, const char* what) {
    const auto id = t->special[static_cast<std::size_t>(role)];
    if (!id) {
      throw Error(ErrorCode::kFormat, vocab_file.string() + ": the " + what + " token '" +
                                          names[static_cast<std::size_t>(role)] +
                                          "' is not in the vocabulary");
    }
    return *id;
  };
  const std::int32_t cls = require(SpecialToken::kCls, "classification");
  const std::int32_t sep = require(SpecialToken::kSep, "separator");

  if (json.is_null()) {  // vocab.txt: BERT's steps
    const std::int32_t unk = require(SpecialToken::kUnk, "unknown-word");
    t->normalizer = text::bert_normalizer(bert);
    t->pre_tokenizer = text::bert_pre_tokenizer();
    t->model = text::word_piece(t->vocab, unk, "##", 100);
    t->post = text::bert_template(cls, sep);
    t->decoder = text::bert_decoder();
  } else {
    const std::string where = json_file.string();
    auto step = [&](const char* key) {
      const auto it = json.find(key);
      return it == json.end() ? nlohmann::json() : *it;
    };
    t->normalizer = text::make_normalizer(step("normalizer"), where + " (normalizer)", bert);
    t->pre_tokenizer = text::make_pre_tokenizer(step("pre_tokenizer"), where + " (pre_tokenizer)");
    t->post = text::make_template(step("post_processor"), where + " (post_processor)");
    // Only decode() needs the decoder: one lat does not run leaves the folder usable.
    try {
      t->decoder = text::make_decoder(step("decoder"), where + " (decoder)");
    } catch (const Error& e) {
      t->decoder_error = e;
    }
  }
  // Special tokens that tokenizer.json does not list are added as transformers adds them:
  // matched in the raw text, without stripping.
  for (const auto& name : names) {
    const auto it = t->vocab.find(name);
    if (it == t->vocab.end()) continue;
    const std::u32string content = text::decode_utf8(name);
    if (std::none_of(t->added.begin(), t->added.end(),
                     [&](const auto& a) { return a.content == content; })) {
      t->added.push_back({.content = content, .id = it->second, .special = true});
    }
  }
  t->build_matchers();
  t->build_decoding();
  return Tokenizer(std::move(t));
}

void Tokenizer::Impl::build_matchers() {
  std::vector<text::AddedToken> raw, normalized;
  for (auto token : added) {
    if (token.normalized && normalizer) {
      text::Text content = text::make_text(token.content, 0);
      normalizer->normalize(content);
      token.content = std::move(content.chars);
      normalized.push_back(std::move(token));
    } else {
      raw.push_back(std::move(token));
    }
  }
  raw_added = text::AddedTokenMatcher(std::move(raw));
  normalized_added = text::AddedTokenMatcher(std::move(normalized));
}

void Tokenizer::Impl::build_decoding() {
  // As the reference: an added token decodes to its content, normalized when it is matched in
  // normalized text; skip_special_tokens skips the contents of special added tokens.
  decoded = tokens;
  special_ids.assign(tokens.size(), false);
  for (const auto& a : added) {
    const auto id = static_cast<std::size_t>(a.id);
    std::u32string content = a.content;
    if (a.normalized && normalizer) {
      text::Text n = text::make_text(content, 0);
      normalizer->normalize(n);
      content = std::move(n.chars);
    }
    decoded[id] = text::encode_utf8(content);
    if (a.special) {
      special_contents.insert(text::encode_utf8(a.content));
      special_ids[id] = true;
    }
  }
  for (const auto& role : special) {
    if (role && static_cast<std::size_t>(*role) < special_ids.size())
      special_ids[static_cast<std::size_t>(*role)] = true;
  }
  if (!post.trims.empty()) {
    token_trims.resize(tokens.size());
    for (std::size_t id = 0; id < tokens.size(); ++id)
      token_trims[id] = trim_counts(text::decode_utf8(tokens[id]));
  }
}

void Tokenizer::Impl::add_offset(const text::Text& text, std::size_t begin, std::size_t end,
                                 TrimCounts trim, Tokens& out) const {
  Offset o{static_cast<std::int32_t>(text.base), static_cast<std::int32_t>(text.base)};
  if (end > begin && end <= text.size()) {
    o = {static_cast<std::int32_t>(text.origin[begin].start),
         static_cast<std::int32_t>(text.origin[end - 1].stop)};
  }
  // ByteLevel's and RobertaProcessing's trim_offsets: the token's leading and trailing spaces
  // (U+0120 or White_Space, counted in characters) off its offsets; one leading space stays on
  // the first token when add_prefix_space says the pre-tokenizer put it there.
  const bool first = out.offsets.empty();
  for (bool add_prefix_space : post.trims) {
    if (trim.leading > 0) {
      const bool keep = (first || o.start == 0) && add_prefix_space && trim.leading == 1;
      if (!keep) o.start = std::min(o.start + trim.leading, o.stop);
    }
    if (trim.trailing > 0 && o.stop >= trim.trailing)
      o.stop = std::max(o.stop - trim.trailing, o.start);
  }
  out.offsets.push_back(o);
}

void Tokenizer::Impl::add_words(const text::Text& text, Tokens& out, bool with_offsets) const {
  if (text.empty()) return;
  std::vector<text::Text> pieces;
  if (pre_tokenizer) {
    pre_tokenizer->split(text, pieces);
  } else {
    pieces.push_back(text);
  }
  std::vector<text::TokenSpan> spans;
  for (const auto& piece : pieces) {
    const std::size_t before = out.ids.size();
    spans.clear();
    model->tokenize(piece.chars, out.ids, with_offsets ? &spans : nullptr);
    if (!with_offsets) continue;
    for (std::size_t k = 0; k < spans.size(); ++k) {
      const auto id = static_cast<std::size_t>(out.ids[before + k]);
      add_offset(piece, spans[k].begin, spans[k].end,
                 id < token_trims.size() ? token_trims[id] : TrimCounts{}, out);
    }
  }
}

void Tokenizer::Impl::tokenize(std::string_view input, Tokens& out, bool with_offsets) const {
  const text::Text raw = text::make_text(text::decode_utf8(input), 0);
  // An added token's offsets are those of the text it was matched in (its stripped whitespace
  // included), and trim as that text does.
  auto add_token = [&](const text::Text& where, std::size_t begin, std::size_t end,
                       std::int32_t id) {
    out.ids.push_back(id);
    if (!with_offsets) return;
    const auto chars = std::u32string_view(where.chars).substr(begin, end - begin);
    add_offset(where, begin, end, post.trims.empty() ? TrimCounts{} : trim_counts(chars), out);
  };
  // Added tokens in the input first; the text between them is normalized, then searched for the
  // added tokens matched in normalized text.
  for (const auto& r : raw_added.split(raw.chars)) {
    if (r.id >= 0) {
      add_token(raw, r.begin, r.end, r.id);
      continue;
    }
    text::Text segment = raw.slice(r.begin, r.end);
    if (normalizer) normalizer->normalize(segment);
    for (const auto& n : normalized_added.split(segment.chars)) {
      if (n.id >= 0) {
        add_token(segment, n.begin, n.end, n.id);
      } else {
        add_words(segment.slice(n.begin, n.end), out, with_offsets);
      }
    }
  }
}

std::vector<std::int32_t> Tokenizer::token_ids(std::string_view input) const {
  Tokens out;
  impl_->tokenize(input, out, false);
  return std::move(out.ids);
}

// The template around the texts, after truncation.
Encoding Tokenizer::Impl::process(Tokens a, const Tokens* b, bool truncated) const {
  Encoding e;
  e.truncated = truncated;
  for (const auto& piece : b != nullptr ? post.pair : post.single) {
    if (piece.special >= 0) {
      e.ids.push_back(piece.special);
      e.type_ids.push_back(piece.type_id);
      e.offsets.push_back({});
      continue;
    }
    const auto& t = piece.sequence == 0 ? a : *b;
    e.ids.insert(e.ids.end(), t.ids.begin(), t.ids.end());
    e.type_ids.insert(e.type_ids.end(), t.ids.size(), piece.type_id);
    e.offsets.insert(e.offsets.end(), t.offsets.begin(), t.offsets.end());
  }
  return e;
}

std::size_t Tokenizer::Impl::room(bool pair, int max_length) const {
  const int specials = post.specials(pair);
  if (max_length < specials) {
    throw Error(ErrorCode::kOption, "maximum length " + std::to_string(max_length) +
                                        " leaves no room for the " + std::to_string(specials) +
                                        " special tokens" + (pair ? " of a pair" : ""));
  }
  return static_cast<std::size_t>(max_length - specials);
}

namespace {
void keep_first(Tokens& t, std::size_t n) {
  if (t.ids.size() > n) t.ids.resize(n);
  if (t.offsets.size() > n) t.offsets.resize(n);
}
}  // namespace

Encoding Tokenizer::encode(std::string_view text, int max_length) const {
  Tokens tokens;
  impl_->tokenize(text, tokens, true);
  const std::size_t room = impl_->room(false, max_length);
  const bool truncated = tokens.ids.size() > room;
  keep_first(tokens, room);
  return impl_->process(std::move(tokens), nullptr, truncated);
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                int max_length) const {
  const std::size_t room = impl_->room(true, max_length);
  Tokens a, b;
  impl_->tokenize(first, a, true);
  impl_->tokenize(second, b, true);
  // Longest-first truncation with the split of Hugging Face tokenizers: the shorter text keeps
  // what it can up to half, the longer one takes the rest (the odd token goes to the second).
  bool truncated = false;
  const std::size_t na = a.ids.size(), nb = b.ids.size();
  if (na + nb > room) {
    std::size_t n1 = std::min(na, nb);
    std::size_t n2 = n1 > room ? n1 : std::max(n1, room - n1);
    if (n1 + n2 > room) {
      n1 = room / 2;
      n2 = n1 + room % 2;
    }
    if (na > nb) std::swap(n1, n2);
    truncated = na > n1 || nb > n2;
    keep_first(a, n1);
    keep_first(b, n2);
  }
  return impl_->process(std::move(a), &b, truncated);
}

const std::string& Tokenizer::token(std::int32_t id) const {
  static const std::string none;
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->tokens.size()) return none;
  return impl_->tokens[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::vocab_size() const {
  return static_cast<std::int32_t>(impl_->tokens.size());
}
std::optional<std::int32_t> Tokenizer::special_id(SpecialToken role) const {
  return impl_->special[static_cast<std::size_t>(role)];
}
int Tokenizer::model_max_length() const { return impl_->model_max_length; }

bool Tokenizer::is_special(std::int32_t id) const {
  return id >= 0 && static_cast<std::size_t>(id) < impl_->special_ids.size() &&
         impl_->special_ids[static_cast<std::size_t>(id)];
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special_tokens) const {
  const Impl& t = *impl_;
  if (t.decoder_error) throw *t.decoder_error;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= t.decoded.size()) continue;
    const std::string& token = t.decoded[static_cast<std::size_t>(id)];
    if (token.empty()) continue;  // no token has this id
    if (skip_special_tokens && t.special_contents.contains(token)) continue;
    tokens.push_back(token);
  }
  // Without a decoder, the reference joins the tokens with spaces.
  std::string out;
  if (t.decoder) {
    t.decoder->decode(tokens);
    for (const auto& token : tokens) out += token;
  } else {
    for (std::size_t i = 0; i < tokens.size(); ++i) out += (i > 0 ? " " : "") + tokens[i];
  }
  return out;
}

}  // namespace lat
