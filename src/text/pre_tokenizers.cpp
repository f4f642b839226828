// Pre-tokenizers, as tokenizer.json names them.
#include <array>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "text/patterns.hpp"
#include "text/pipeline.hpp"
#include "text/unicode.hpp"
#include "text/utf8.hpp"

namespace lat::text {
namespace {

void keep_non_empty(Text piece, std::vector<Text>& pieces) {
  if (!piece.empty()) pieces.push_back(std::move(piece));
}

class BertPreTokenizer final : public PreTokenizer {
 public:
  // Whitespace removed, each punctuation character isolated.
  void split(const Text& text, std::vector<Text>& pieces) const override {
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char32_t c = text.chars[i];
      if (is_bert_whitespace(c)) {
        keep_non_empty(text.slice(start, i), pieces);
        start = i + 1;
      } else if (is_bert_punctuation(c)) {
        keep_non_empty(text.slice(start, i), pieces);
        pieces.push_back(text.slice(i, i + 1));
        start = i + 1;
      }
    }
    keep_non_empty(text.slice(start, text.size()), pieces);
  }
};

class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}

  void split(const Text& text, std::vector<Text>& pieces) const override {
    Text t = text;
    if (add_prefix_space_ && !t.empty() && t.chars[0] != U' ') {
      t.chars.insert(t.chars.begin(), U' ');
      t.origin.insert(t.origin.begin(), t.origin[0]);
    }
    std::vector<Text> parts;
    if (use_regex_) {
      split_at(t, gpt2_matches(t.chars), Behavior::kIsolated, parts);
    } else {
      keep_non_empty(std::move(t), parts);
    }
    // Each UTF-8 byte becomes one character.
    const auto& table = byte_chars();
    std::string bytes;
    for (auto& part : parts) {
      map_chars(part, [&](char32_t c, std::u32string& out) {
        bytes.clear();
        append_utf8(bytes, c);
        for (unsigned char b : bytes) out += table[b];
      });
      pieces.push_back(std::move(part));
    }
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

// Whitespace (White_Space) removed.
class WhitespaceSplit final : public PreTokenizer {
 public:
  void split(const Text& text, std::vector<Text>& pieces) const override {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
      if (i == text.size() || is_white_space(text.chars[i])) {
        keep_non_empty(text.slice(start, i), pieces);
        start = i + 1;
      }
    }
  }
};

// SentencePiece's spaces: ' ' becomes the replacement character, which may be prepended, and
// each piece begins with one.
class Metaspace final : public PreTokenizer {
 public:
  enum class Prepend { kAlways, kFirst, kNever };
  Metaspace(char32_t replacement, Prepend prepend, bool split)
      : replacement_(replacement), prepend_(prepend), split_(split) {}

  void split(const Text& text, std::vector<Text>& pieces) const override {
    Text t = text;
    map_chars(t, [&](char32_t c, std::u32string& out) { out += c == U' ' ? replacement_ : c; });
    // "first": only the piece that begins where the input begins.
    const bool prepend =
        prepend_ == Prepend::kAlways || (prepend_ == Prepend::kFirst && t.base == 0);
    if (prepend && !t.empty() && t.chars[0] != replacement_) {
      t.chars.insert(t.chars.begin(), replacement_);
      t.origin.insert(t.origin.begin(), t.origin[0]);
    }
    if (!split_) {
      keep_non_empty(std::move(t), pieces);
      return;
    }
    std::vector<Match> matches;
    std::size_t done = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
      if (t.chars[i] != replacement_) continue;
      if (i > done) matches.push_back({done, i, false});
      matches.push_back({i, i + 1, true});
      done = i + 1;
    }
    if (done < t.size()) matches.push_back({done, t.size(), false});
    split_at(t, matches, Behavior::kMergedWithNext, pieces);
  }

 private:
  char32_t replacement_;
  Prepend prepend_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
      : steps_(std::move(steps)) {}
  void split(const Text& text, std::vector<Text>& pieces) const override {
    std::vector<Text> current{text}, next;
    for (const auto& s : steps_) {
      next.clear();
      for (const auto& p : current) s->split(p, next);
      current.swap(next);
    }
    for (auto& p : current) keep_non_empty(std::move(p), pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

// Pieces where a pattern matches, split as `behavior` says (the matches and the text between
// them swapped when `invert`).
class Split final : public PreTokenizer {
 public:
  Split(std::function<std::vector<Match>(const std::u32string&)> find, Behavior behavior,
        bool invert)
      : find_(std::move(find)), behavior_(behavior), invert_(invert) {}
  void split(const Text& text, std::vector<Text>& pieces) const override {
    auto matches = find_(text.chars);
    if (invert_)
      for (auto& m : matches) m.is_match = !m.is_match;
    split_at(text, matches, behavior_, pieces);
  }

 private:
  std::function<std::vector<Match>(const std::u32string&)> find_;
  Behavior behavior_;
  bool invert_;
};

// Matches of a character test, each character a match of its own.
std::unique_ptr<PreTokenizer> split_chars(std::function<bool(char32_t)> is_match,
                                          Behavior behavior) {
  return std::make_unique<Split>([is_match = std::move(is_match)](
                                     const std::u32string& t) { return char_matches(t, is_match); },
                                 behavior, false);
}

}  // namespace

const std::array<char32_t, 256>& byte_chars() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
      t[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

void split_at(const Text& text, const std::vector<Match>& matches, Behavior behavior,
              std::vector<Text>& pieces) {
  // As the reference's NormalizedString::split: matches (and the text between them) become
  // pieces, merged or removed as the behaviour says; empty pieces are dropped.
  struct Part {
    std::size_t begin, end;
    bool removed;
  };
  std::vector<Part> parts;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::kRemoved:
    case Behavior::kIsolated:
      for (const auto& m : matches)
        parts.push_back({m.begin, m.end, behavior == Behavior::kRemoved && m.is_match});
      break;
    case Behavior::kContiguous:
      for (const auto& m : matches) {
        if (!parts.empty() && m.is_match == previous_match) {
          parts.back().end = m.end;
        } else {
          parts.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    case Behavior::kMergedWithPrevious:
      for (const auto& m : matches) {
        if (!parts.empty() && m.is_match && !previous_match) {
          parts.back().end = m.end;
        } else {
          parts.push_back({m.begin, m.end, false});
        }
        previous_match = m.is_match;
      }
      break;
    case Behavior::kMergedWithNext:
      for (auto it = matches.rbegin(); it != matches.rend(); ++it) {
        if (!parts.empty() && it->is_match && !previous_match) {
          parts.back().begin = it->begin;
        } else {
          parts.push_back({it->begin, it->end, false});
        }
        previous_match = it->is_match;
      }
      std::reverse(parts.begin(), parts.end());
      break;
  }
  for (const auto& p : parts) {
    if (!p.removed && p.end > p.begin) pieces.push_back(text.slice(p.begin, p.end));
  }
}

std::unique_ptr<PreTokenizer> bert_pre_tokenizer() { return std::make_unique<BertPreTokenizer>(); }

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const nlohmann::json& json,
                                                 const std::string& where) {
  if (json.is_null()) return nullptr;
  const io::JsonFields f(json, where);
  const std::string type = f.string("type").value_or("");
  if (type == "BertPreTokenizer") return bert_pre_tokenizer();
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevel>(f.boolean("add_prefix_space").value_or(true),
                                       f.boolean("use_regex").value_or(true));
  }
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplit>();
  // \w+|[^\w\s]+ kept, the text between matches removed.
  if (type == "Whitespace") return std::make_unique<Split>(word_matches, Behavior::kRemoved, true);
  if (type == "Punctuation") {
    return split_chars(is_bert_punctuation,
                       parse_behavior(f.string("behavior").value_or("Isolated"), where));
  }
  if (type == "Digits") {
    // Rust's char::is_numeric: General Category N.
    return split_chars(is_number, f.boolean("individual_digits").value_or(false)
                                      ? Behavior::kIsolated
                                      : Behavior::kContiguous);
  }
  if (type == "CharDelimiterSplit") {
    const std::u32string delimiter = decode_utf8(f.string("delimiter").value_or(""));
    if (delimiter.size() != 1) f.fail("delimiter", "must be one character");
    return split_chars([d = delimiter[0]](char32_t c) { return c == d; }, Behavior::kRemoved);
  }
  if (type == "Split") {
    const auto pattern = json.find("pattern");
    if (pattern == json.end()) f.fail("pattern", "is missing");
    const auto behavior = f.string("behavior");
    if (!behavior) f.fail("behavior", "must be a string");
    return std::make_unique<Split>(
        [p = Pattern(*pattern, where)](const std::u32string& t) { return p.find(t); },
        parse_behavior(*behavior, where), f.boolean("invert").value_or(false));
  }
  if (type == "Metaspace") {
    const std::u32string replacement = decode_utf8(f.string("replacement").value_or("\u2581"));
    if (replacement.size() != 1) f.fail("replacement", "must be one character");
    // Older files say add_prefix_space instead of prepend_scheme.
    auto prepend = f.boolean("add_prefix_space").value_or(true) ? Metaspace::Prepend::kAlways
                                                                : Metaspace::Prepend::kNever;
    if (const auto scheme = f.string("prepend_scheme")) {
      if (*scheme == "always") {
        prepend = Metaspace::Prepend::kAlways;
      } else if (*scheme == "first") {
        prepend = Metaspace::Prepend::kFirst;
      } else if (*scheme == "never") {
        prepend = Metaspace::Prepend::kNever;
      } else {
        f.fail("prepend_scheme", "must be always, first or never, not '" + *scheme + "'");
      }
    }
    return std::make_unique<Metaspace>(replacement[0], prepend, f.boolean("split").value_or(true));
  }
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
  throw Error(ErrorCode::kUnsupported,
              where + ": pre-tokenizer '" + type +
                  "' is not one lat runs (BertPreTokenizer, ByteLevel, WhitespaceSplit, "
                  "Whitespace, Punctuation, Digits, CharDelimiterSplit, Split, Metaspace, "
                  "Sequence)");
}

}  // namespace lat::text
