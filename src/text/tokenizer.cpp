#include "lat/tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <unordered_map>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace lat {
namespace fs = std::filesystem;

struct Tokenizer::Impl {
  std::unordered_map<std::string, std::int32_t> vocab;
  std::vector<std::string> tokens;                          // id -> token
  std::vector<std::pair<std::string, std::int32_t>> added;  // matched in raw text, longest first
  std::int32_t cls = 0, sep = 0, unk = 0;
  bool clean_text = true;
  bool chinese_chars = true;
  bool lowercase = true;
  bool strip_accents = true;
  std::string subword_prefix = "##";
  std::size_t max_word_chars = 100;
  int model_max_length = 0;

  void read_vocab_txt(const fs::path& file);
  void read_tokenizer_json(const fs::path& file);
  void add_word_pieces(const std::u32string& word, std::vector<std::int32_t>& out) const;
  void add_segment(const std::u32string& segment, std::vector<std::int32_t>& out) const;
};

namespace {

// Largest vocabulary accepted: far above any BERT, small enough to refuse absurd files early.
constexpr std::int64_t kMaxVocab = 1 << 24;

}  // namespace

void Tokenizer::Impl::read_vocab_txt(const fs::path& file) {
  Impl& t = *this;
  std::ifstream in(file, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, file.string() + ": cannot open");
  std::string line;
  std::int32_t id = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (id >= kMaxVocab) throw Error(ErrorCode::kFormat, file.string() + ": more than 2^24 tokens");
    t.vocab[line] = id;  // a repeated token keeps its last id, as in transformers
    t.tokens.push_back(line);
    ++id;
  }
}

void Tokenizer::Impl::read_tokenizer_json(const fs::path& file) {
  Impl& t = *this;
  const auto json = io::read_json(file);
  const io::JsonFields top(json, file.string());
  const auto model = json.find("model");
  if (model == json.end() || !model->is_object()) top.fail("model", "is missing or not an object");
  const io::JsonFields m(*model, file.string() + " (model)");
  if (m.string("type").value_or("WordPiece") != "WordPiece") {
    throw Error(ErrorCode::kUnsupported, file.string() + ": field 'model.type' is '" +
                                             *m.string("type") +
                                             "'; lat runs WordPiece tokenizers");
  }
  if (const auto p = m.string("continuing_subword_prefix")) t.subword_prefix = *p;
  if (m.has("max_input_chars_per_word")) {
    t.max_word_chars =
        static_cast<std::size_t>(m.integer_in("max_input_chars_per_word", 1, 1 << 20));
  }
  const auto vocab_json = model->find("vocab");
  if (vocab_json == model->end() || !vocab_json->is_object())
    m.fail("vocab", "is missing or not an object");
  if (static_cast<std::int64_t>(vocab_json->size()) > kMaxVocab)
    m.fail("vocab", "has more than 2^24 tokens");
  for (const auto& [token, id] : vocab_json->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() >= kMaxVocab) {
      m.fail("vocab", "maps '" + token + "' to " + id.dump() + ", not an id in [0, 2^24)");
    }
    const auto i = static_cast<std::size_t>(id.get<std::int64_t>());
    if (i >= t.tokens.size()) t.tokens.resize(i + 1);
    t.tokens[i] = token;
    t.vocab[token] = static_cast<std::int32_t>(i);
  }
  if (const auto added_json = json.find("added_tokens");
      added_json != json.end() && added_json->is_array()) {
    for (const auto& a : *added_json) {
      const io::JsonFields af(a, file.string() + " (added_tokens)");
      const auto content = af.string("content");
      const auto id = af.integer("id");
      if (!content || content->empty() || !id || *id < 0 || *id >= kMaxVocab) {
        af.fail("content", "and 'id' must name a non-empty token and its id");
      }
      t.added.emplace_back(*content, static_cast<std::int32_t>(*id));
      if (static_cast<std::size_t>(*id) >= t.tokens.size())
        t.tokens.resize(static_cast<std::size_t>(*id) + 1);
      t.tokens[static_cast<std::size_t>(*id)] = *content;
      t.vocab.emplace(*content, static_cast<std::int32_t>(*id));
    }
  }
  if (const auto norm = json.find("normalizer"); norm != json.end() && norm->is_object()) {
    const io::JsonFields nf(*norm, file.string() + " (normalizer)");
    if (nf.string("type").value_or("") == "BertNormalizer") {
      t.clean_text = nf.boolean("clean_text").value_or(true);
    }
  }
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Tokenizer Tokenizer::from_folder(const fs::path& folder) {
  auto t = std::make_shared<Impl>();
  std::error_code ec;
  const fs::path json_file = folder / "tokenizer.json";
  const fs::path txt_file = folder / "vocab.txt";
  fs::path vocab_file;
  if (fs::exists(json_file, ec)) {
    vocab_file = json_file;
    t->read_tokenizer_json(json_file);
  } else if (fs::exists(txt_file, ec)) {
    vocab_file = txt_file;
    t->read_vocab_txt(txt_file);
  } else {
    throw Error(ErrorCode::kIo,
                folder.string() + ": neither tokenizer.json nor vocab.txt is there");
  }
  if (t->vocab.empty())
    throw Error(ErrorCode::kFormat, vocab_file.string() + ": the vocabulary is empty");

  // tokenizer_config.json decides the normaliser, as transformers does when it loads the folder.
  std::optional<bool> strip_accents;
  std::string cls = "[CLS]", sep = "[SEP]", unk = "[UNK]", pad = "[PAD]", mask = "[MASK]";
  const fs::path config_file = folder / "tokenizer_config.json";
  if (fs::exists(config_file, ec)) {
    const auto json = io::read_json(config_file);
    const io::JsonFields f(json, config_file.string());
    t->lowercase = f.boolean("do_lower_case").value_or(true);
    strip_accents = f.boolean("strip_accents");
    t->chinese_chars = f.boolean("tokenize_chinese_chars").value_or(true);
    // Very large values stand for "no limit" in transformers.
    if (const auto len = f.number("model_max_length"); len && *len >= 1 && *len < 1e9) {
      t->model_max_length = static_cast<int>(*len);
    }
    auto special = [&](const char* key, std::string& value) {
      const auto it = json.find(key);
      if (it == json.end() || it->is_null()) return;
      if (it->is_string()) {
        value = it->get<std::string>();
      } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
        value = (*it)["content"].get<std::string>();
      } else {
        f.fail(key, "must be a token string");
      }
    };
    special("cls_token", cls);
    special("sep_token", sep);
    special("unk_token", unk);
    special("pad_token", pad);
    special("mask_token", mask);
  }
  t->strip_accents = strip_accents.value_or(t->lowercase);
  auto require = [&](const std::string& token, const char* role) {
    const auto it = t->vocab.find(token);
    if (it == t->vocab.end()) {
      throw Error(ErrorCode::kFormat, vocab_file.string() + ": the " + role + " token '" + token +
                                          "' is not in the vocabulary");
    }
    return it->second;
  };
  t->cls = require(cls, "classification");
  t->sep = require(sep, "separator");
  t->unk = require(unk, "unknown-word");
  for (const std::string& s : {cls, sep, unk, pad, mask}) {
    const auto it = t->vocab.find(s);
    if (it == t->vocab.end()) continue;
    if (std::none_of(t->added.begin(), t->added.end(),
                     [&](const auto& a) { return a.first == s; })) {
      t->added.emplace_back(s, it->second);
    }
  }
  std::stable_sort(t->added.begin(), t->added.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  return Tokenizer(std::move(t));
}

void Tokenizer::Impl::add_word_pieces(const std::u32string& word,
                                      std::vector<std::int32_t>& out) const {
  if (word.size() > max_word_chars) {
    out.push_back(unk);
    return;
  }
  const std::size_t before = out.size();
  std::size_t start = 0;
  std::string piece;
  while (start < word.size()) {
    std::size_t end = word.size();
    std::optional<std::int32_t> found;
    for (; end > start; --end) {
      piece = start > 0 ? subword_prefix : std::string();
      for (std::size_t i = start; i < end; ++i) text::append_utf8(piece, word[i]);
      if (const auto it = vocab.find(piece); it != vocab.end()) {
        found = it->second;
        break;
      }
    }
    if (!found) {  // one unmatched piece makes the whole word unknown
      out.resize(before);
      out.push_back(unk);
      return;
    }
    out.push_back(*found);
    start = end;
  }
}

void Tokenizer::Impl::add_segment(const std::u32string& segment,
                                  std::vector<std::int32_t>& out) const {
  // Normalise: clean, space out CJK, strip accents, lower-case, in this order.
  std::u32string text;
  text.reserve(segment.size());
  for (char32_t c : segment) {
    if (clean_text) {
      if (c == 0 || c == 0xfffd || text::is_bert_control(c)) continue;
      if (text::is_bert_whitespace(c)) c = U' ';
    }
    if (chinese_chars && text::is_cjk(c)) {
      text.push_back(U' ');
      text.push_back(c);
      text.push_back(U' ');
    } else {
      text.push_back(c);
    }
  }
  if (strip_accents) {
    std::u32string stripped;
    stripped.reserve(text.size());
    for (char32_t c : text) text::append_stripped(stripped, c);
    text.swap(stripped);
  }
  if (lowercase) {
    std::u32string lower;
    lower.reserve(text.size());
    for (char32_t c : text) text::append_lower(lower, c);
    text.swap(lower);
  }
  // Pre-tokenise: whitespace separates words, each punctuation character is a word.
  std::u32string word;
  auto flush = [&] {
    if (!word.empty()) add_word_pieces(word, out);
    word.clear();
  };
  for (char32_t c : text) {
    if (text::is_bert_whitespace(c)) {
      flush();
    } else if (text::is_bert_punctuation(c)) {
      flush();
      word.push_back(c);
      flush();
    } else {
      word.push_back(c);
    }
  }
  flush();
}

std::vector<std::int32_t> Tokenizer::word_pieces(std::string_view text) const {
  text::decode_utf8(text);  // validates the whole input before any work
  std::vector<std::int32_t> out;
  const auto& added = impl_->added;
  std::size_t segment_start = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto match = std::find_if(added.begin(), added.end(), [&](const auto& a) {
      return text.substr(i, a.first.size()) == a.first;
    });
    if (match == added.end()) {
      ++i;
      continue;
    }
    impl_->add_segment(text::decode_utf8(text.substr(segment_start, i - segment_start)), out);
    out.push_back(match->second);
    i += match->first.size();
    segment_start = i;
  }
  impl_->add_segment(text::decode_utf8(text.substr(segment_start)), out);
  return out;
}

Encoding Tokenizer::encode(std::string_view text, int max_length) const {
  if (max_length < 2) {
    throw Error(ErrorCode::kOption, "maximum length " + std::to_string(max_length) +
                                        " leaves no room for [CLS] and [SEP]");
  }
  auto pieces = word_pieces(text);
  Encoding e;
  const auto room = static_cast<std::size_t>(max_length - 2);
  if (pieces.size() > room) {
    pieces.resize(room);
    e.truncated = true;
  }
  e.ids.reserve(pieces.size() + 2);
  e.ids.push_back(impl_->cls);
  e.ids.insert(e.ids.end(), pieces.begin(), pieces.end());
  e.ids.push_back(impl_->sep);
  e.type_ids.assign(e.ids.size(), 0);
  return e;
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                int max_length) const {
  if (max_length < 3) {
    throw Error(ErrorCode::kOption, "maximum length " + std::to_string(max_length) +
                                        " leaves no room for [CLS] and two [SEP]");
  }
  // transformers takes an empty second text for no second text at all.
  if (second.empty()) return encode(first, max_length);
  auto a = word_pieces(first);
  auto b = word_pieces(second);
  Encoding e;
  // Longest-first truncation with the split of Hugging Face tokenizers: the shorter text keeps
  // what it can up to half, the longer one takes the rest (the odd token goes to the second).
  const std::size_t room = static_cast<std::size_t>(max_length - 3);
  if (a.size() + b.size() > room) {
    std::size_t n1 = std::min(a.size(), b.size());
    std::size_t n2 = n1 > room ? n1 : std::max(n1, room - n1);
    if (n1 + n2 > room) {
      n1 = room / 2;
      n2 = n1 + room % 2;
    }
    if (a.size() > b.size()) std::swap(n1, n2);
    e.truncated = a.size() > n1 || b.size() > n2;
    a.resize(std::min(a.size(), n1));
    b.resize(std::min(b.size(), n2));
  }
  e.ids.push_back(impl_->cls);
  e.ids.insert(e.ids.end(), a.begin(), a.end());
  e.ids.push_back(impl_->sep);
  e.type_ids.assign(e.ids.size(), 0);
  e.ids.insert(e.ids.end(), b.begin(), b.end());
  e.ids.push_back(impl_->sep);
  e.type_ids.resize(e.ids.size(), 1);
  return e;
}

const std::string& Tokenizer::token(std::int32_t id) const {
  static const std::string none;
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->tokens.size()) return none;
  return impl_->tokens[static_cast<std::size_t>(id)];
}

std::int32_t Tokenizer::vocab_size() const {
  return static_cast<std::int32_t>(impl_->tokens.size());
}
std::int32_t Tokenizer::cls_id() const { return impl_->cls; }
std::int32_t Tokenizer::sep_id() const { return impl_->sep; }
int Tokenizer::model_max_length() const { return impl_->model_max_length; }

}  // namespace lat
