// Post-processors: where the special tokens go around one or two sequences, and how offsets are
// trimmed. Decoders: how token strings become text again.
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/patterns.hpp"
#include "text/pipeline.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

using Piece = Template::Piece;

// TemplateProcessing's "single" or "pair": SpecialToken and Sequence pieces. A special token
// stands for the ids its entry in "special_tokens" lists.
std::vector<Piece> template_pieces(const nlohmann::json& json, const io::JsonFields& f,
                                   const char* field) {
  const auto list = json.find(field);
  if (list == json.end() || !list->is_array()) f.fail(field, "must be an array of pieces");
  const auto specials = json.find("special_tokens");
  std::vector<Piece> out;
  for (const auto& item : *list) {
    const io::JsonFields pf(item, f.file() + " (" + field + ")");
    if (const auto s = item.find("Sequence"); s != item.end()) {
      const io::JsonFields sf(*s, pf.file());
      const std::string id = sf.string("id").value_or("");
      if (id != "A" && id != "B") sf.fail("id", "must be A or B");
      if (id == "B" && std::string_view(field) == "single")
        sf.fail("id", "is B in the template of a single text");
      out.push_back(
          {-1, id == "A" ? 0 : 1, static_cast<std::int32_t>(sf.integer_in("type_id", 0, 1 << 16))});
    } else if (const auto t = item.find("SpecialToken"); t != item.end()) {
      const io::JsonFields tf(*t, pf.file());
      const std::string name = tf.string("id").value_or("");
      const auto type_id = static_cast<std::int32_t>(tf.integer_in("type_id", 0, 1 << 16));
      if (specials == json.end() || !specials->is_object() || !specials->contains(name)) {
        f.fail("special_tokens", "has no entry for '" + name + "'");
      }
      const auto ids = (*specials)[name].find("ids");
      if (ids == (*specials)[name].end() || !ids->is_array() || ids->empty()) {
        f.fail("special_tokens", "entry '" + name + "' has no ids");
      }
      for (const auto& id : *ids) {
        if (!id.is_number_integer() || id.get<std::int64_t>() < 0 ||
            id.get<std::int64_t>() >= kMaxVocab) {
          f.fail("special_tokens", "entry '" + name + "' has an id outside [0, 2^24)");
        }
        out.push_back({static_cast<std::int32_t>(id.get<std::int64_t>()), 0, type_id});
      }
    } else {
      f.fail(field, "holds a piece that is neither Sequence nor SpecialToken");
    }
  }
  return out;
}

}  // namespace

Template bert_template(std::int32_t cls, std::int32_t sep) {
  return {{{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}},
          {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}, {-1, 1, 1}, {sep, 0, 1}}};
}

int Template::specials(bool is_pair) const {
  int n = 0;
  for (const Piece& p : is_pair ? pair : single) n += p.special >= 0 ? 1 : 0;
  return n;
}

Template make_template(const nlohmann::json& json, const std::string& where) {
  // No special tokens; the second text's type id is 1, as the reference's default processing.
  const Template plain{{{-1, 0, 0}}, {{-1, 0, 0}, {-1, 1, 1}}};
  if (json.is_null()) return plain;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  // ByteLevel and RobertaProcessing trim offsets when trim_offsets is on (the default).
  auto trims = [&] {
    std::vector<bool> out;
    if (f.boolean("trim_offsets").value_or(true))
      out.push_back(f.boolean("add_prefix_space").value_or(true));
    return out;
  };
  if (type == "ByteLevel") {  // it moves offsets only
    Template out = plain;
    out.trims = trims();
    return out;
  }
  if (type == "Sequence") {
    // The steps in order; lat runs sequences where one step at most places special tokens.
    const auto it = json.find("processors");
    if (it == json.end() || !it->is_array()) f.fail("processors", "must be an array");
    Template out = plain;
    std::vector<bool> trimming;
    bool placed = false;
    for (std::size_t i = 0; i < it->size(); ++i) {
      const std::string step_where = where + " processors[" + std::to_string(i) + "]";
      Template step = make_template((*it)[i], step_where);
      trimming.insert(trimming.end(), step.trims.begin(), step.trims.end());
      if (step.specials(false) == 0 && step.specials(true) == 0) continue;
      if (placed) {
        throw Error(ErrorCode::kUnsupported,
                    step_where +
                        ": a second step that places special tokens; lat runs "
                        "sequences with one");
      }
      out = std::move(step);
      placed = true;
    }
    out.trims = std::move(trimming);
    return out;
  }
  if (type == "TemplateProcessing") {
    return {template_pieces(json, f, "single"), template_pieces(json, f, "pair")};
  }
  // BertProcessing's and RobertaProcessing's [token, id] pairs.
  auto token = [&](const char* field) {
    const auto it = json.find(field);
    if (it == json.end() || !it->is_array() || it->size() != 2 || !(*it)[0].is_string() ||
        !(*it)[1].is_number_integer() || (*it)[1].get<std::int64_t>() < 0 ||
        (*it)[1].get<std::int64_t>() >= kMaxVocab) {
      f.fail(field, "must be [token, id] with an id in [0, 2^24)");
    }
    return static_cast<std::int32_t>((*it)[1].get<std::int64_t>());
  };
  if (type == "BertProcessing") {
    return bert_template(token("cls"), token("sep"));
  }
  if (type == "RobertaProcessing") {
    // Every type id is 0; trim_offsets and add_prefix_space move offsets only.
    const auto cls = token("cls");
    const auto sep = token("sep");
    return {{{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}},
            {{cls, 0, 0}, {-1, 0, 0}, {sep, 0, 0}, {sep, 0, 0}, {-1, 1, 0}, {sep, 0, 0}},
            trims()};
  }
  throw Error(ErrorCode::kUnsupported,
              where + ": post-processor '" + type +
                  "' is not one lat runs (TemplateProcessing, BertProcessing, RobertaProcessing, "
                  "ByteLevel, Sequence)");
}

// ---------------------------------------------------------------------------------------------
// Decoders, as the reference's decode_chain steps.

namespace {

// Rust's str::replace: every non-overlapping occurrence, left to right.
std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  std::string out;
  std::size_t done = 0;
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, done)) {
    out.append(s, done, at - done);
    out += to;
    done = at + from.size();
  }
  out.append(s, done);
  return out;
}

// WordPiece's cleanup of tokenization artifacts (spaces before punctuation and contractions).
std::string cleanup(std::string s) {
  static const std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (const auto& [from, to] : rules) s = replace_all(s, from, to);
  return s;
}

class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup)
      : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  // Tokens after the first lose the prefix, or else are a new word after a space.
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      auto& t = tokens[i];
      if (i != 0) t = t.starts_with(prefix_) ? t.substr(prefix_.size()) : " " + t;
      if (cleanup_) t = cleanup(std::move(t));
    }
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

// Byte-level BPE: the characters of GPT-2's map back to their bytes (a token with another
// character stays as it is), all tokens one text, ill-formed UTF-8 replaced.
class ByteLevelDecoder final : public Decoder {
 public:
  ByteLevelDecoder() {
    const auto& table = byte_chars();
    for (std::size_t b = 0; b < table.size(); ++b) bytes_[table[b]] = static_cast<char>(b);
  }
  void decode(std::vector<std::string>& tokens) const override {
    std::string all;
    std::string mapped;
    for (const auto& t : tokens) {
      mapped.clear();
      bool whole = true;
      for (char32_t c : decode_utf8(t)) {
        const auto it = bytes_.find(c);
        if (it == bytes_.end()) {
          whole = false;
          break;
        }
        mapped.push_back(it->second);
      }
      all += whole ? mapped : t;
    }
    tokens.assign(1, decode_utf8_lossy(all));
  }

 private:
  std::unordered_map<char32_t, char> bytes_;
};

// SentencePiece's spaces: the replacement character becomes ' ', except in the first token
// when a space was prepended (there it is dropped).
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool prepended)
      : replacement_(replacement), prepended_(prepended) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      for (char32_t c : decode_utf8(tokens[i])) {
        if (c != replacement_) {
          append_utf8(out, c);
        } else if (i != 0 || !prepended_) {
          out += ' ';
        }
      }
      tokens[i] = std::move(out);
    }
  }

 private:
  char32_t replacement_;
  bool prepended_;
};

// Original BPE: the end-of-word suffix becomes a space ("" in the last token).
class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (std::size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

// Runs of <0xXX> tokens become their bytes: the text they spell, or U+FFFD for each when it is
// not UTF-8.
class ByteFallbackDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    std::size_t count = 0;
    auto flush = [&] {
      if (count == 0) return;
      if (is_utf8(bytes)) {
        out.push_back(bytes);
      } else {
        out.insert(out.end(), count, "\xef\xbf\xbd");
      }
      bytes.clear();
      count = 0;
    };
    for (auto& t : tokens) {
      if (const auto b = byte_of(t)) {
        bytes.push_back(static_cast<char>(*b));
        ++count;
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    tokens = std::move(out);
  }

 private:
  // The byte of "<0xXX>", read as Rust's u8::from_str_radix reads "XX" (a leading '+' allowed).
  static std::optional<unsigned> byte_of(std::string_view t) {
    if (t.size() != 6 || !t.starts_with("<0x") || t.back() != '>') return std::nullopt;
    auto digit = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = digit(t[3]), lo = digit(t[4]);
    if (t[3] == '+' && lo >= 0) return static_cast<unsigned>(lo);
    if (hi < 0 || lo < 0) return std::nullopt;
    return static_cast<unsigned>(hi * 16 + lo);
  }
};

class FuseDecoder final : public Decoder {
 public:
  void decode(std::vector<std::string>& tokens) const override {
    std::string all;
    for (const auto& t : tokens) all += t;
    tokens.assign(1, std::move(all));
  }
};

// Up to `start` leading and `stop` trailing `content` characters removed from each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, std::size_t start, std::size_t stop)
      : content_(content), start_(start), stop_(stop) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      const std::u32string chars = decode_utf8(t);
      std::size_t begin = 0, end = chars.size();
      while (begin < std::min(start_, chars.size()) && chars[begin] == content_) ++begin;
      for (std::size_t k = 0; k < stop_ && end > begin && chars[end - 1] == content_; ++k) --end;
      t = encode_utf8(std::u32string_view(chars).substr(begin, end - begin));
    }
  }

 private:
  char32_t content_;
  std::size_t start_, stop_;
};

// Matches of a pattern in each token replaced by `content`.
class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(Pattern pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (auto& t : tokens) {
      const std::u32string chars = decode_utf8(t);
      std::string out;
      for (const auto& m : pattern_.find(chars)) {
        if (m.is_match) {
          out += content_;
        } else {
          out += encode_utf8(std::u32string_view(chars).substr(m.begin, m.end - m.begin));
        }
      }
      t = std::move(out);
    }
  }

 private:
  Pattern pattern_;
  std::string content_;
};

// Connectionist temporal classification: repeated tokens once, the pad token dropped, the word
// delimiter a space (with WordPiece's cleanup), empty tokens dropped.
class CtcDecoder final : public Decoder {
 public:
  CtcDecoder(std::string pad, std::string delimiter, bool cleanup)
      : pad_(std::move(pad)), delimiter_(std::move(delimiter)), cleanup_(cleanup) {}
  void decode(std::vector<std::string>& tokens) const override {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0 && tokens[i] == tokens[i - 1]) continue;
      std::string t = replace_all(tokens[i], pad_, "");
      if (cleanup_) t = replace_all(cleanup(std::move(t)), delimiter_, " ");
      if (!t.empty()) out.push_back(std::move(t));
    }
    tokens = std::move(out);
  }

 private:
  std::string pad_, delimiter_;
  bool cleanup_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps)
      : steps_(std::move(steps)) {}
  void decode(std::vector<std::string>& tokens) const override {
    for (const auto& s : steps_) s->decode(tokens);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> steps_;
};

// A field that must hold one character.
char32_t one_char(const io::JsonFields& f, const char* field, const std::string& fallback) {
  const std::u32string c = decode_utf8(f.string(field).value_or(fallback));
  if (c.size() != 1) f.fail(field, "must be one character");
  return c[0];
}

}  // namespace

std::unique_ptr<Decoder> bert_decoder() { return std::make_unique<WordPieceDecoder>("##", true); }

std::unique_ptr<Decoder> make_decoder(const nlohmann::json& json, const std::string& where) {
  if (json.is_null()) return nullptr;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(f.string("prefix").value_or("##"),
                                              f.boolean("cleanup").value_or(true));
  }
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    // As the pre-tokenizer: the older add_prefix_space, or prepend_scheme.
    bool prepended = f.boolean("add_prefix_space").value_or(true);
    if (const auto scheme = f.string("prepend_scheme")) {
      if (*scheme != "always" && *scheme != "first" && *scheme != "never")
        f.fail("prepend_scheme", "must be always, first or never, not '" + *scheme + "'");
      prepended = *scheme != "never";
    }
    return std::make_unique<MetaspaceDecoder>(one_char(f, "replacement", "\u2581"), prepended);
  }
  if (type == "BPEDecoder")
    return std::make_unique<BpeDecoder>(f.string("suffix").value_or("</w>"));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(
        one_char(f, "content", " "), static_cast<std::size_t>(f.integer_in("start", 0, 1 << 20)),
        static_cast<std::size_t>(f.integer_in("stop", 0, 1 << 20)));
  }
  if (type == "Replace") {
    const auto pattern = json.find("pattern");
    if (pattern == json.end()) f.fail("pattern", "is missing");
    const auto content = f.string("content");
    if (!content) f.fail("content", "must be a string");
    return std::make_unique<ReplaceDecoder>(Pattern(*pattern, where), *content);
  }
  if (type == "CTC") {
    return std::make_unique<CtcDecoder>(f.string("pad_token").value_or("<pad>"),
                                        f.string("word_delimiter_token").value_or("|"),
                                        f.boolean("cleanup").value_or(true));
  }
  if (type == "Sequence") {
    const auto it = json.find("decoders");
    if (it == json.end() || !it->is_array()) f.fail("decoders", "must be an array");
    std::vector<std::unique_ptr<Decoder>> steps;
    for (std::size_t i = 0; i < it->size(); ++i) {
      auto step = make_decoder((*it)[i], where + " decoders[" + std::to_string(i) + "]");
      if (step) steps.push_back(std::move(step));
    }
    return std::make_unique<SequenceDecoder>(std::move(steps));
  }
  throw Error(ErrorCode::kUnsupported,
              where + ": decoder '" + type +
                  "' is not one lat runs (WordPiece, ByteLevel, Metaspace, BPEDecoder, "
                  "ByteFallback, Fuse, Strip, Replace, CTC, Sequence)");
}

}  // namespace lat::text
