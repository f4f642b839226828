// Tokenizer models: how one piece becomes token ids.
#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <queue>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/pipeline.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

class WordPiece final : public Model {
 public:
  WordPiece(Vocab vocab, std::int32_t unk, std::string prefix, std::size_t max_word_chars)
      : vocab_(std::move(vocab)),
        unk_(unk),
        prefix_(std::move(prefix)),
        max_word_chars_(max_word_chars) {}

  void tokenize(const std::u32string& word, std::vector<std::int32_t>& out,
                std::vector<TokenSpan>* spans) const override {
    const TokenSpan whole{0, static_cast<std::uint32_t>(word.size())};
    if (word.size() > max_word_chars_) {
      out.push_back(unk_);
      if (spans) spans->push_back(whole);
      return;
    }
    const std::size_t before = out.size();
    const std::size_t spans_before = spans ? spans->size() : 0;
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
        if (spans) {
          spans->resize(spans_before);
          spans->push_back(whole);
        }
        return;
      }
      out.push_back(*found);
      if (spans)
        spans->push_back({static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)});
      start = end;
    }
  }

 private:
  Vocab vocab_;
  std::int32_t unk_;
  std::string prefix_;
  std::size_t max_word_chars_;
};

// Byte fallback: the piece as <0xXX> tokens, one a byte, when the vocabulary has them all.
bool append_byte_tokens(const Vocab& vocab, const std::string& piece,
                        std::vector<std::int32_t>& ids) {
  static const char* hex = "0123456789ABCDEF";
  const std::size_t before = ids.size();
  for (unsigned char b : piece) {
    const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
    const auto it = vocab.find(name);
    if (it == vocab.end()) {
      ids.resize(before);
      return false;
    }
    ids.push_back(it->second);
  }
  return true;
}

struct BpeOptions {
  std::optional<std::int32_t> unk;  // none: unknown characters are dropped
  bool fuse_unk = false;
  bool byte_fallback = false;  // unknown characters as <0xXX> byte tokens, when all are there
  bool ignore_merges = false;  // a piece in the vocabulary is one token, merges or not
  std::string prefix, suffix;  // continuing_subword_prefix, end_of_word_suffix
};

// Byte-pair encoding: the piece's characters, merged pair by pair, lowest rank first (the
// leftmost among equal ranks), as the reference's Word::merge_all does.
class Bpe final : public Model {
 public:
  struct Merge {
    std::uint32_t rank;
    std::int32_t id;
  };
  using Merges = std::unordered_map<std::uint64_t, Merge>;
  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) |
           static_cast<std::uint32_t>(b);
  }

  Bpe(Vocab vocab, Merges merges, BpeOptions o)
      : vocab_(std::move(vocab)), merges_(std::move(merges)), o_(std::move(o)) {}

  void tokenize(const std::u32string& word, std::vector<std::int32_t>& out,
                std::vector<TokenSpan>* spans) const override {
    if (word.empty()) return;
    std::string piece;
    if (o_.ignore_merges) {
      piece = encode_utf8(word);
      if (const auto it = vocab_.find(piece); it != vocab_.end()) {
        out.push_back(it->second);
        if (spans) spans->push_back({0, static_cast<std::uint32_t>(word.size())});
        return;
      }
    }
    // The symbols, and with spans each one's length in bytes, as the reference's Word keeps
    // them: a character's UTF-8 length, 1 for each byte-fallback token, the sum for merged
    // symbols; offsets are their running sums. Reused from word to word (a very long word's
    // memory is not kept).
    thread_local std::vector<std::int32_t> ids;
    thread_local std::vector<std::uint32_t> lengths;
    if (ids.capacity() > (1u << 16)) ids = {};
    if (lengths.capacity() > (1u << 16)) lengths = {};
    ids.clear();
    lengths.clear();
    std::vector<std::uint32_t>* lens = spans ? &lengths : nullptr;
    bool unk_pending = false;
    std::uint32_t unk_length = 0;
    for (std::size_t i = 0; i < word.size(); ++i) {
      piece.clear();
      if (i > 0) piece = o_.prefix;
      const std::size_t at = piece.size();
      append_utf8(piece, word[i]);
      const auto length = static_cast<std::uint32_t>(piece.size() - at);
      if (i + 1 == word.size()) piece += o_.suffix;
      if (const auto it = vocab_.find(piece); it != vocab_.end()) {
        if (unk_pending) {
          ids.push_back(*o_.unk);
          if (lens) lens->push_back(unk_length);
        }
        unk_pending = false;
        ids.push_back(it->second);
        if (lens) lens->push_back(length);
        continue;
      }
      if (o_.byte_fallback && append_byte_tokens(vocab_, piece, ids)) {
        if (lens) lens->resize(ids.size(), 1);
        continue;
      }
      if (!o_.unk) continue;
      if (unk_pending && !o_.fuse_unk) {
        ids.push_back(*o_.unk);
        if (lens) lens->push_back(unk_length);
        unk_length = 0;
      }
      if (!unk_pending) unk_length = 0;
      unk_pending = true;
      unk_length += length;
    }
    if (unk_pending) {
      ids.push_back(*o_.unk);
      if (lens) lens->push_back(unk_length);
    }
    merge(ids, lens);
    out.insert(out.end(), ids.begin(), ids.end());
    if (spans) byte_spans(word, lengths, *spans);
  }

 private:
  // Characters of the word for symbols of the given byte lengths, one after another (a span
  // that ends inside a character takes all of it; one past the word ends with it).
  static void byte_spans(const std::u32string& word, const std::vector<std::uint32_t>& lengths,
                         std::vector<TokenSpan>& spans) {
    const auto n = static_cast<std::uint32_t>(word.size());
    std::uint32_t c = 0, c_start = 0;  // the character that holds the byte, and where it begins
    auto advance = [&](std::uint32_t byte) {  // to the character holding `byte`
      while (c < n) {
        const char32_t ch = word[c];
        const std::uint32_t end = c_start + (ch < 0x80 ? 1 : ch < 0x800 ? 2 : ch < 0x10000 ? 3 : 4);
        if (byte < end) return;
        c_start = end;
        ++c;
      }
    };
    std::uint32_t at = 0;
    for (std::uint32_t length : lengths) {
      advance(at);
      const std::uint32_t begin = c;
      advance(at + length - 1);
      spans.push_back({begin, std::min(c + 1, n)});
      at += length;
    }
  }

  void merge(std::vector<std::int32_t>& ids, std::vector<std::uint32_t>* lengths) const {
    const auto n = static_cast<std::ptrdiff_t>(ids.size());
    std::vector<std::ptrdiff_t> prev(ids.size()), next(ids.size());
    std::vector<bool> gone(ids.size(), false);
    for (std::ptrdiff_t i = 0; i < n; ++i) {
      prev[static_cast<std::size_t>(i)] = i - 1;
      next[static_cast<std::size_t>(i)] = i + 1 < n ? i + 1 : -1;
    }
    struct Entry {
      std::uint32_t rank;
      std::ptrdiff_t pos;
      std::int32_t id;
      bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
    auto push = [&](std::ptrdiff_t pos) {
      const auto right = next[static_cast<std::size_t>(pos)];
      if (right < 0) return;
      const auto it = merges_.find(
          key(ids[static_cast<std::size_t>(pos)], ids[static_cast<std::size_t>(right)]));
      if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.id});
    };
    for (std::ptrdiff_t i = 0; i + 1 < n; ++i) push(i);
    while (!queue.empty()) {
      const Entry top = queue.top();
      queue.pop();
      const auto pos = static_cast<std::size_t>(top.pos);
      if (gone[pos] || next[pos] < 0) continue;
      const auto right = static_cast<std::size_t>(next[pos]);
      const auto it = merges_.find(key(ids[pos], ids[right]));
      if (it == merges_.end() || it->second.id != top.id) continue;  // an expired entry
      ids[pos] = top.id;
      if (lengths) (*lengths)[pos] += (*lengths)[right];
      gone[right] = true;
      next[pos] = next[right];
      if (next[pos] >= 0) prev[static_cast<std::size_t>(next[pos])] = top.pos;
      if (prev[pos] >= 0) push(prev[pos]);
      push(top.pos);
    }
    std::size_t kept = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (gone[i]) continue;
      if (lengths) (*lengths)[kept] = (*lengths)[i];
      ids[kept++] = ids[i];
    }
    ids.resize(kept);
    if (lengths) lengths->resize(kept);
  }

  Vocab vocab_;
  Merges merges_;
  BpeOptions o_;
};

// Unigram: the segmentation of highest total score (Viterbi over the pieces that begin at each
// character), as the reference's encode_optimized; runs of unknown characters are one unknown
// token.
class Unigram final : public Model {
 public:
  Unigram(Vocab ids, std::vector<double> scores, std::optional<std::int32_t> unk,
          bool byte_fallback)
      : ids_(std::move(ids)), scores_(std::move(scores)), unk_(unk), byte_fallback_(byte_fallback) {
    double min_score = 0;
    bool first = true;
    for (double sc : scores_) {
      min_score = first ? sc : std::min(min_score, sc);
      first = false;
    }
    unk_score_ = min_score - 10.0;  // the reference's kUnkPenalty
    for (const auto& [piece, id] : ids_) max_piece_ = std::max(max_piece_, piece.size());
  }

  void tokenize(const std::u32string& word, std::vector<std::int32_t>& out,
                std::vector<TokenSpan>* spans) const override {
    if (word.empty()) return;
    const std::string s = encode_utf8(word);
    struct Node {
      double score = 0;
      std::ptrdiff_t start = -1;  // none yet
      std::int32_t id = 0;
    };
    std::vector<Node> best(s.size() + 1);
    for (std::size_t at = 0; at < s.size(); at += next_char(s, at)) {
      const double here = best[at].score;
      const std::size_t one = next_char(s, at);
      bool single = false;
      for (std::size_t len = one; len <= max_piece_ && at + len <= s.size();
           len += next_char(s, at + len)) {
        const auto it = ids_.find(s.substr(at, len));
        if (it != ids_.end()) {
          Node& target = best[at + len];
          const double candidate = scores_[static_cast<std::size_t>(it->second)] + here;
          if (target.start < 0 || candidate > target.score)
            target = {candidate, static_cast<std::ptrdiff_t>(at), it->second};
          if (len == one) single = true;
        }
      }
      if (!single) {
        if (!unk_)
          throw Error(ErrorCode::kInput, "a character has no piece and there is no unk_id");
        Node& target = best[at + one];
        const double candidate = unk_score_ + here;
        if (target.start < 0 || candidate > target.score)
          target = {candidate, static_cast<std::ptrdiff_t>(at), *unk_};
      }
    }
    // Back from the end; consecutive unknown pieces fuse into one.
    std::vector<std::string> pieces;
    std::string unknown;
    for (std::size_t end = s.size(); end > 0;) {
      const Node& n = best[end];
      const auto start = static_cast<std::size_t>(n.start);
      if (unk_ && n.id == *unk_) {
        unknown.insert(0, s.substr(start, end - start));
      } else {
        if (!unknown.empty()) pieces.push_back(std::move(unknown));
        unknown.clear();
        pieces.push_back(s.substr(start, end - start));
      }
      end = start;
    }
    if (!unknown.empty()) pieces.push_back(std::move(unknown));
    std::uint32_t at = 0;  // characters before the piece
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
      const std::size_t before = out.size();
      if (const auto found = ids_.find(*it); found != ids_.end()) {
        out.push_back(found->second);
      } else if (!(byte_fallback_ && append_byte_tokens(ids_, *it, out))) {
        out.push_back(*unk_);
      }
      if (spans) {  // every token of a piece (its byte tokens too) stands for all of it
        std::uint32_t chars = 0;
        for (unsigned char b : *it) chars += (b & 0xc0) != 0x80 ? 1 : 0;
        spans->insert(spans->end(), out.size() - before, TokenSpan{at, at + chars});
        at += chars;
      }
    }
  }

 private:
  // The UTF-8 length of the character at `at` (1 past the end).
  static std::size_t next_char(const std::string& s, std::size_t at) {
    if (at >= s.size()) return 1;
    const auto b = static_cast<unsigned char>(s[at]);
    return b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  }

  Vocab ids_;
  std::vector<double> scores_;  // by id
  std::optional<std::int32_t> unk_;
  bool byte_fallback_;
  double unk_score_ = 0;
  std::size_t max_piece_ = 0;  // bytes
};

std::unique_ptr<Model> make_unigram(const nlohmann::json& json, const io::JsonFields& m,
                                    std::vector<std::string>& tokens) {
  const auto vocab_json = json.find("vocab");
  if (vocab_json == json.end() || !vocab_json->is_array())
    m.fail("vocab", "is missing or not an array of [piece, score]");
  if (static_cast<std::int64_t>(vocab_json->size()) > kMaxVocab)
    m.fail("vocab", "has more than 2^24 tokens");
  Vocab ids;
  std::vector<double> scores;
  for (const auto& item : *vocab_json) {
    if (!item.is_array() || item.size() != 2 || !item[0].is_string() || !item[1].is_number())
      m.fail("vocab", "entry " + std::to_string(scores.size()) + " is not [piece, score]");
    const auto id = static_cast<std::int32_t>(scores.size());
    const auto& piece = item[0].get_ref<const std::string&>();
    ids[piece] = id;  // a repeated piece: the last id, as the reference
    if (tokens.size() <= scores.size()) tokens.resize(scores.size() + 1);
    tokens[scores.size()] = piece;
    scores.push_back(item[1].get<double>());
  }
  std::optional<std::int32_t> unk;
  if (const auto u = json.find("unk_id"); u != json.end() && !u->is_null())
    unk = static_cast<std::int32_t>(
        m.integer_in("unk_id", 0, static_cast<std::int64_t>(scores.size()) - 1));
  return std::make_unique<Unigram>(std::move(ids), std::move(scores), unk,
                                   m.boolean("byte_fallback").value_or(false));
}

// model.vocab as an object of token -> id.
Vocab read_vocab(const nlohmann::json& json, const io::JsonFields& m,
                 std::vector<std::string>& tokens) {
  const auto vocab_json = json.find("vocab");
  if (vocab_json == json.end() || !vocab_json->is_object())
    m.fail("vocab", "is missing or not an object");
  if (static_cast<std::int64_t>(vocab_json->size()) > kMaxVocab)
    m.fail("vocab", "has more than 2^24 tokens");
  Vocab vocab;
  for (const auto& [token, id] : vocab_json->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
        id.get<std::int64_t>() >= kMaxVocab) {
      m.fail("vocab", "maps '" + token + "' to " + id.dump() + ", not an id in [0, 2^24)");
    }
    const auto i = static_cast<std::size_t>(id.get<std::int64_t>());
    if (i >= tokens.size()) tokens.resize(i + 1);
    tokens[i] = token;
    vocab[token] = static_cast<std::int32_t>(i);
  }
  return vocab;
}

// A string option that may be null.
std::string optional_string(const nlohmann::json& json, const io::JsonFields& f,
                            const char* field) {
  const auto it = json.find(field);
  if (it == json.end() || it->is_null()) return {};
  if (!it->is_string()) f.fail(field, "must be a string or null");
  return it->get<std::string>();
}

std::unique_ptr<Model> make_bpe(const nlohmann::json& json, const io::JsonFields& m,
                                std::vector<std::string>& tokens) {
  if (const auto d = json.find("dropout"); d != json.end() && !d->is_null()) {
    if (!d->is_number() || d->get<double>() != 0) {
      throw Error(ErrorCode::kUnsupported,
                  m.file() + ": field 'dropout' is " + d->dump() +
                      "; lat runs BPE without dropout (null or 0), as inference does");
    }
  }
  Vocab vocab = read_vocab(json, m, tokens);
  BpeOptions o;
  if (const std::string unk = optional_string(json, m, "unk_token"); !unk.empty()) {
    const auto it = vocab.find(unk);
    if (it == vocab.end()) m.fail("unk_token", "'" + unk + "' is not in the vocabulary");
    o.unk = it->second;
  }
  o.fuse_unk = m.boolean("fuse_unk").value_or(false);
  o.byte_fallback = m.boolean("byte_fallback").value_or(false);
  o.ignore_merges = m.boolean("ignore_merges").value_or(false);
  o.prefix = optional_string(json, m, "continuing_subword_prefix");
  o.suffix = optional_string(json, m, "end_of_word_suffix");

  const auto merges_json = json.find("merges");
  if (merges_json == json.end() || !merges_json->is_array()) m.fail("merges", "must be an array");
  Bpe::Merges merges;
  std::uint32_t rank = 0;
  for (const auto& item : *merges_json) {
    // "a b" (older files) or ["a", "b"].
    std::string a, b;
    if (item.is_string()) {
      const auto& s = item.get_ref<const std::string&>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
        m.fail("merges", "entry " + std::to_string(rank) + " '" + s + "' is not two tokens");
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (item.is_array() && item.size() == 2 && item[0].is_string() && item[1].is_string()) {
      a = item[0].get<std::string>();
      b = item[1].get<std::string>();
    } else {
      m.fail("merges", "entry " + std::to_string(rank) + " is neither \"a b\" nor [a, b]");
    }
    auto id_of = [&](const std::string& token) {
      const auto it = vocab.find(token);
      if (it == vocab.end())
        m.fail("merges", "entry " + std::to_string(rank) + " names '" + token +
                             "', which is not in the vocabulary");
      return it->second;
    };
    // The merged token drops the second part's prefix length, as the reference does.
    const std::string merged = a + b.substr(std::min(o.prefix.size(), b.size()));
    merges[Bpe::key(id_of(a), id_of(b))] = {rank, id_of(merged)};  // a repeated pair: last wins
    ++rank;
  }
  return std::make_unique<Bpe>(std::move(vocab), std::move(merges), std::move(o));
}

}  // namespace

std::unique_ptr<Model> word_piece(Vocab vocab, std::int32_t unk, std::string prefix,
                                  std::size_t max_word_chars) {
  return std::make_unique<WordPiece>(std::move(vocab), unk, std::move(prefix), max_word_chars);
}

std::unique_ptr<Model> make_model(const nlohmann::json& json, const std::string& file,
                                  std::vector<std::string>& tokens) {
  const io::JsonFields m(json, file + " (model)");
  const std::string type = m.string("type").value_or("WordPiece");
  if (type == "WordPiece") {
    Vocab vocab = read_vocab(json, m, tokens);
    const std::string unk_name = m.string("unk_token").value_or("[UNK]");
    const auto unk = vocab.find(unk_name);
    if (unk == vocab.end()) m.fail("unk_token", "'" + unk_name + "' is not in the vocabulary");
    const auto max_chars =
        m.has("max_input_chars_per_word")
            ? static_cast<std::size_t>(m.integer_in("max_input_chars_per_word", 1, 1 << 20))
            : std::size_t{100};
    const std::int32_t unk_id = unk->second;
    return word_piece(std::move(vocab), unk_id,
                      m.string("continuing_subword_prefix").value_or("##"), max_chars);
  }
  if (type == "BPE") return make_bpe(json, m, tokens);
  if (type == "Unigram") return make_unigram(json, m, tokens);
  throw Error(ErrorCode::kUnsupported, file + ": field 'model.type' is '" + type +
                                           "'; lat runs WordPiece, BPE and Unigram models");
}

}  // namespace lat::text
