// Token offsets, decode and special tokens against Hugging Face tokenizers (golden files by
// tools/reference/make_offsets_golden.py): every committed tokenizer and every component and
// decoder variant, on the hard cases, singles and pairs, whole and truncated.
#include <filesystem>
#include <optional>
#include <sstream>

#include "lat/error.hpp"
#include "lat/tokenizer.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;

fs::path offsets_dir() { return test::golden_dir() / "offsets"; }

std::string show(const std::vector<std::int32_t>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? " " : "") << v[i];
  return s.str();
}

std::vector<std::int32_t> flat(const std::vector<Offset>& offsets) {
  std::vector<std::int32_t> out;
  for (const auto& o : offsets) {
    out.push_back(o.start);
    out.push_back(o.stop);
  }
  return out;
}

// Each golden case and decode against the tokenizer: failures are counted, the first few shown.
void expect_golden(const Tokenizer& tok, const nlohmann::json& golden) {
  static const auto texts = test::read_json(offsets_dir() / "texts.json");
  int failures = 0;
  auto fail = [&](const std::string& what) {
    if (++failures <= 5) ADD_FAILURE() << what;
  };
  for (const auto& c : golden["cases"]) {
    const int text = c[0], pair = c[1], max_length = c[2];
    const std::string first = text >= 0 ? texts["texts"][text] : texts["pairs"][pair][0];
    const std::string second = pair >= 0 ? texts["pairs"][pair][1].get<std::string>() : "";
    const Encoding e =
        pair >= 0 ? tok.encode_pair(first, second, max_length) : tok.encode(first, max_length);
    const std::string where = "text " + std::to_string(text) + " pair " + std::to_string(pair) +
                              " max_length " + std::to_string(max_length) + ": '" + first +
                              (pair >= 0 ? "' | '" + second : "") + "'";
    const auto ids = c[3].get<std::vector<std::int32_t>>();
    if (e.ids != ids) {
      fail(where + "\n ids " + show(e.ids) + "\n ref " + show(ids));
      continue;
    }
    if (e.offsets.size() != e.ids.size()) fail(where + ": not one offset per id");
    const auto offsets = c[4].get<std::vector<std::int32_t>>();
    if (flat(e.offsets) != offsets)
      fail(where + "\n offsets " + show(flat(e.offsets)) + "\n ref     " + show(offsets));
    for (int skip : {1, 0}) {
      const auto& want = c.size() > 5 ? c[skip ? 5 : 6] : nlohmann::json();
      if (want.is_null()) continue;  // not written, or the reference panics
      const std::string got = tok.decode(ids, skip != 0);
      if (got != want.get<std::string>())
        fail(where + "\n decode(skip " + std::to_string(skip) + ") '" + got + "'\n reference '" +
             want.get<std::string>() + "'");
    }
  }
  for (const auto& d : golden["decodes"]) {
    const auto ids = d[0].get<std::vector<std::int32_t>>();
    for (int skip : {1, 0}) {
      const auto& want = d[skip ? 1 : 2];
      if (want.is_null()) continue;
      const std::string got = tok.decode(ids, skip != 0);
      if (got != want.get<std::string>())
        fail("decode(" + show(ids) + ", skip " + std::to_string(skip) + ") '" + got +
             "'\n reference '" + want.get<std::string>() + "'");
    }
  }
  EXPECT_EQ(failures, 0) << "cases unlike the reference";
}

// The index's entries for folders whose path begins with `prefix`.
std::vector<nlohmann::json> folders(const std::string& prefix) {
  std::vector<nlohmann::json> out;
  for (const auto& entry : test::read_json(offsets_dir() / "index.json")) {
    if (entry.contains("folder") && entry["folder"].get<std::string>().starts_with(prefix))
      out.push_back(entry);
  }
  return out;
}

TEST(TokenizerOffsets, GoldenFoldersEqualReference) {
  const auto entries = folders("tests/golden/");
  ASSERT_GE(entries.size(), 11u);  // five kinds, five families, tiny-bert
  const fs::path root = test::golden_dir().parent_path().parent_path();
  for (const auto& entry : entries) {
    SCOPED_TRACE(entry["folder"].get<std::string>());
    const auto golden = test::read_json(offsets_dir() / entry["golden"].get<std::string>());
    ASSERT_GT(golden["cases"].size(), 100u);
    expect_golden(Tokenizer::from_folder(root / entry["folder"].get<std::string>()), golden);
  }
}

TEST(TokenizerOffsets, ModelFoldersEqualReference) {
  LAT_REQUIRE_MODEL();
  const auto entries = folders("models/");
  ASSERT_EQ(entries.size(), 2u);  // all-MiniLM-L6-v2, all-mpnet-base-v2
  for (const auto& entry : entries) {
    SCOPED_TRACE(entry["folder"].get<std::string>());
    const fs::path dir =
        test::model_dir().parent_path() / fs::path(entry["folder"].get<std::string>()).filename();
    if (!fs::exists(dir / "tokenizer.json")) {
      std::printf("%s missing: run tools/fetch_model.sh %s\n", dir.c_str(), dir.filename().c_str());
      continue;
    }
    expect_golden(Tokenizer::from_folder(dir),
                  test::read_json(offsets_dir() / entry["golden"].get<std::string>()));
  }
}

// A folder with a golden kind's tokenizer.json after the entry's changes ("/"-paths set to
// values; "PRECOMPILED" in a Sequence stands for the base's Precompiled normalizer), as
// make_offsets_golden.py makes them.
void write_variant(const test::TempDir& dir, const nlohmann::json& entry) {
  const fs::path base = test::golden_dir() / "tokenizers" / entry["base"].get<std::string>();
  auto json = test::read_json(base / "tokenizer.json");
  if (entry["set"] == "merges_as_strings") {
    for (auto& m : json["model"]["merges"])
      m = m[0].get<std::string>() + " " + m[1].get<std::string>();
  } else {
    for (const auto& [path, value] : entry["set"].items()) {
      auto replacement = value;
      if (replacement.is_object() && replacement.contains("normalizers")) {
        for (auto& n : replacement["normalizers"])
          if (n == "PRECOMPILED") n = json["normalizer"];
      }
      json[nlohmann::json::json_pointer(path)] = replacement;
    }
  }
  test::write_file(dir.path() / "tokenizer.json", json.dump());
  fs::copy_file(base / "tokenizer_config.json", dir.path() / "tokenizer_config.json");
}

// The normalizers, pre-tokenizers, models and post-processors the families do not use (the
// variants of components.json), and the decoders they do not use.
TEST(TokenizerOffsets, VariantsEqualReference) {
  int variants = 0, decoders = 0;
  for (const auto& entry : test::read_json(offsets_dir() / "index.json")) {
    if (!entry.contains("base")) continue;
    const std::string name = entry["name"];
    SCOPED_TRACE(entry["base"].get<std::string>() + "/" + name);
    const test::TempDir dir("tokenizer-offsets");
    write_variant(dir, entry);
    const auto golden = test::read_json(offsets_dir() / entry["golden"].get<std::string>());
    expect_golden(Tokenizer::from_folder(dir.path()), golden);
    ++variants;
    if (name.starts_with("decoder_")) {
      ++decoders;
      EXPECT_GT(golden["decodes"].size(), 20u);
    }
  }
  EXPECT_GT(variants, 60);
  EXPECT_GE(decoders, 10);
}

TEST(TokenizerOffsets, SpecialTokens) {
  const auto dir = test::golden_dir() / "tokenizers";
  const auto roberta = Tokenizer::from_folder(dir / "roberta");
  for (std::int32_t id : {0, 1, 2, 3, 4000}) EXPECT_TRUE(roberta.is_special(id)) << id;
  for (std::int32_t id : {4, 100, 3999, 4001, -1, 1 << 30}) EXPECT_FALSE(roberta.is_special(id));
  // mpnet's vocabulary holds [CLS] and [SEP] as plain tokens; its roles are <s> and </s>.
  const auto mpnet = Tokenizer::from_folder(dir / "mpnet");
  EXPECT_TRUE(mpnet.is_special(*mpnet.special_id(SpecialToken::kCls)));
  EXPECT_TRUE(mpnet.is_special(*mpnet.special_id(SpecialToken::kUnk)));
  int plain = 0;
  for (std::int32_t id = 0; id < mpnet.vocab_size(); ++id) {
    if (mpnet.token(id) == "[CLS]" || mpnet.token(id) == "[SEP]") {
      EXPECT_FALSE(mpnet.is_special(id)) << mpnet.token(id);
      ++plain;
    }
  }
  EXPECT_EQ(plain, 2);
  // vocab.txt: the roles' tokens.
  const auto bert = Tokenizer::from_folder(test::golden_dir() / "tiny-bert");
  for (auto role : {SpecialToken::kCls, SpecialToken::kSep, SpecialToken::kPad, SpecialToken::kUnk,
                    SpecialToken::kMask})
    EXPECT_TRUE(bert.is_special(*bert.special_id(role)));
  const auto e = bert.encode("the cat", 16);
  EXPECT_FALSE(bert.is_special(e.ids[1]));
  EXPECT_EQ(e.offsets.front(), (Offset{0, 0}));
  EXPECT_EQ(e.offsets[1], (Offset{0, 3}));
  EXPECT_EQ(bert.decode(e.ids), "the cat");
  EXPECT_EQ(bert.decode(e.ids, false), "[CLS] the cat [SEP]");
  EXPECT_EQ(bert.decode({}), "");
}

// A decoder lat does not run leaves the folder loading and encoding; decode() refuses it,
// naming the file, the field and the decoder.
TEST(TokenizerOffsets, UnknownDecoderIsRefusedByDecode) {
  const struct {
    nlohmann::json decoder;
    std::vector<std::string> named;
    ErrorCode code = ErrorCode::kUnsupported;
  } cases[] = {
      {{{"type", "Reversed"}}, {"(decoder)", "decoder 'Reversed'"}},
      {{{"type", "Sequence"}, {"decoders", {{{"type", "Fuse"}}, {{"type", "Mystery"}}}}},
       {"decoders[1]", "decoder 'Mystery'"}},
      {{{"type", "Strip"}, {"content", "ab"}, {"start", 1}, {"stop", 0}},
       {"(decoder)", "'content'"},
       ErrorCode::kConfig},
  };
  for (const auto& c : cases) {
    const test::TempDir dir("tokenizer-decoder");
    write_variant(dir, {{"base", "roberta"}, {"set", {{"/decoder", c.decoder}}}});
    const auto tok = Tokenizer::from_folder(dir.path());
    const auto e = tok.encode("still encodes", 16);
    EXPECT_EQ(e.ids.size(), e.offsets.size());
    try {
      (void)tok.decode(e.ids);
      ADD_FAILURE() << c.decoder.dump() << ": no error";
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), c.code) << err.what();
      EXPECT_NE(std::string(err.what()).find("tokenizer.json"), std::string::npos) << err.what();
      for (const auto& part : c.named)
        EXPECT_NE(std::string(err.what()).find(part), std::string::npos) << err.what();
    }
  }
}

// Encodings built by hand stay aggregates without offsets; the encoder does not read them.
TEST(TokenizerOffsets, EncodingsByHandHaveNone) {
  const Encoding positional{{101, 102}, {}, false};
  const Encoding designated{.ids = {101, 7592, 102}, .truncated = true};
  EXPECT_TRUE(positional.offsets.empty());
  EXPECT_TRUE(designated.offsets.empty());
  const auto tok = Tokenizer::from_folder(test::golden_dir() / "tiny-bert");
  const auto e = tok.encode("the cat sat", 4);
  EXPECT_TRUE(e.truncated);
  EXPECT_EQ(e.offsets.size(), 4u);
  EXPECT_EQ(e.offsets[2], (Offset{4, 7}));
  EXPECT_EQ(e.offsets[3], (Offset{0, 0}));
}

}  // namespace
}  // namespace lat
