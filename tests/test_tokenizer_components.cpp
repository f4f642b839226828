// Each kind of tokenizer.json lat runs against Hugging Face tokenizers: small tokenizers trained
// on the shared training data, and the reference's ids for evaluation texts and hard cases
// (golden files by tools/reference/make_tokenizer_golden.py).
#include <filesystem>
#include <functional>

#include "lat/error.hpp"
#include "lat/tokenizer.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;

fs::path kind_dir(const std::string& kind) { return test::golden_dir() / "tokenizers" / kind; }

// The reference's full ids and type ids of every case: singles and pairs, at their maximum
// length or at `max_length`.
void expect_cases(const Tokenizer& tok, const nlohmann::json& cases, int max_length = 0) {
  for (const auto& c : cases) {
    const std::string text = c["text"];
    if (c.contains("max_length")) max_length = c["max_length"];
    const Encoding e = c.contains("pair")
                           ? tok.encode_pair(text, c["pair"].get<std::string>(), max_length)
                           : tok.encode(text, max_length);
    EXPECT_EQ(e.ids, c["ids"].get<std::vector<std::int32_t>>())
        << "text: " << text
        << (c.contains("pair") ? " | pair: " + c["pair"].get<std::string>() : "") << " max_length "
        << max_length;
    EXPECT_EQ(e.type_ids, c["type_ids"].get<std::vector<std::int32_t>>()) << text;
  }
}

TEST(Tokenizer, HardCasesEqualReference) {
  LAT_REQUIRE_MODEL();
  const auto cases = test::read_json(test::golden_dir() / "hard_cases.json");
  ASSERT_GT(cases.size(), 50u);
  expect_cases(Tokenizer::from_folder(test::model_dir()), cases);
}

class TokenizerKinds : public ::testing::TestWithParam<const char*> {};

TEST_P(TokenizerKinds, HardCasesEqualReference) {
  const auto dir = kind_dir(GetParam());
  const auto cases = test::read_json(dir / "hard_cases.json");
  ASSERT_GT(cases.size(), 50u);
  expect_cases(Tokenizer::from_folder(dir), cases);
}

TEST_P(TokenizerKinds, EvaluationTextsEqualReference) {
  const auto dir = kind_dir(GetParam());
  const auto tok = Tokenizer::from_folder(dir);
  for (const char* set : {"sst2/dev.tsv", "imdb/test.tsv"}) {
    const auto path = test::data_dir() / set;
    if (!fs::exists(path)) GTEST_SKIP() << "evaluation data missing at " << path;
    const auto golden = "token_ids_" + fs::path(set).parent_path().string() + "_" +
                        fs::path(set).stem().string() + ".txt";
    test::expect_token_digests(path, dir / golden,
                               [&](const std::string& text) { return tok.encode(text, 512).ids; });
  }
}

// tokenizer(a, b, truncation=True, max_length=n) for every n from the special tokens alone up:
// longest-first, odd and even room, both texts long and one long.
TEST_P(TokenizerKinds, PairTruncationEqualsReference) {
  const auto dir = kind_dir(GetParam());
  const auto golden = test::read_json(dir / "pair_truncation.json");
  const auto tok = Tokenizer::from_folder(dir);
  ASSERT_GT(golden["cases"].size(), 100u);
  for (const auto& c : golden["cases"]) {
    const auto& pair = golden["pairs"][c[0].get<std::size_t>()];
    const int max_length = c[1];
    const Encoding e =
        tok.encode_pair(pair[0].get<std::string>(), pair[1].get<std::string>(), max_length);
    EXPECT_EQ(e.ids, c[2].get<std::vector<std::int32_t>>())
        << "pair " << c[0] << " max_length " << max_length;
    EXPECT_EQ(e.type_ids, c[3].get<std::vector<std::int32_t>>())
        << "pair " << c[0] << " max_length " << max_length;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, TokenizerKinds,
                         ::testing::Values("mpnet", "distilbert", "electra", "roberta", "xlmr",
                                           "modernbert"));

// A folder with a golden kind's tokenizer.json after `change`, and its tokenizer_config.json.
void write_variant(const test::TempDir& dir, const std::string& kind,
                   const std::function<void(nlohmann::json&)>& change) {
  auto json = test::read_json(kind_dir(kind) / "tokenizer.json");
  change(json);
  test::write_file(dir.path() / "tokenizer.json", json.dump());
  fs::copy_file(kind_dir(kind) / "tokenizer_config.json", dir.path() / "tokenizer_config.json");
}

// Options and components the golden kinds do not use, each against the reference on the same
// tokenizer.json: the texts and pairs are stored once, each variant's ids for them after.
TEST(TokenizerComponents, VariantsEqualReference) {
  const auto golden = test::read_json(test::golden_dir() / "tokenizers" / "components.json");
  const auto& texts = golden["texts"];
  const auto& pairs = golden["pairs"];
  ASSERT_GT(golden["variants"].size(), 50u);
  for (const auto& v : golden["variants"]) {
    SCOPED_TRACE(v["base"].get<std::string>() + "/" + v["name"].get<std::string>());
    const test::TempDir dir("tokenizer-variant");
    write_variant(dir, v["base"], [&](nlohmann::json& json) {
      if (v["set"] == "merges_as_strings") {
        for (auto& m : json["model"]["merges"])
          m = m[0].get<std::string>() + " " + m[1].get<std::string>();
        return;
      }
      for (const auto& [path, value] : v["set"].items()) {
        auto replacement = value;
        // "PRECOMPILED" stands for the base's own Precompiled normalizer.
        if (replacement.contains("normalizers")) {
          for (auto& n : replacement["normalizers"])
            if (n == "PRECOMPILED") n = json["normalizer"];
        }
        json[nlohmann::json::json_pointer(path)] = replacement;
      }
    });
    const auto tok = Tokenizer::from_folder(dir.path());
    ASSERT_EQ(v["ids"].size(), texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
      const std::string text = texts[i];
      const Encoding e = tok.encode(text, 1 << 20);
      EXPECT_EQ(e.ids, v["ids"][i].get<std::vector<std::int32_t>>()) << "text: " << text;
      EXPECT_EQ(e.type_ids, std::vector<std::int32_t>(e.ids.size(), 0)) << text;
    }
    ASSERT_EQ(v["pair_ids"].size(), pairs.size());
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      const Encoding e =
          tok.encode_pair(pairs[i][0].get<std::string>(), pairs[i][1].get<std::string>(), 1 << 20);
      EXPECT_EQ(e.ids, v["pair_ids"][i].get<std::vector<std::int32_t>>()) << "pair " << i;
      EXPECT_EQ(e.type_ids, v["pair_type_ids"][i].get<std::vector<std::int32_t>>()) << "pair " << i;
    }
  }
}

// What lat does not run is refused, naming the file, the field and the component.
TEST(TokenizerComponents, RefusalsNameFileAndField) {
  const struct {
    const char* path;
    nlohmann::json value;
    std::vector<std::string> named;
    ErrorCode code = ErrorCode::kUnsupported;  // else a malformed file
  } cases[] = {
      {"/normalizer", {{"type", "ByteLevel"}}, {"(normalizer)", "normalizer 'ByteLevel'"}},
      {"/pre_tokenizer",
       {{"type", "Sequence"}, {"pretokenizers", {{{"type", "UnicodeScripts"}}}}},
       {"pretokenizers[0]", "pre-tokenizer 'UnicodeScripts'"}},
      // Regular expressions beyond those tokenizer.json files use are named, not guessed at.
      {"/pre_tokenizer",
       {{"type", "Split"},
        {"pattern", {{"Regex", "\\p{N}{1,3}"}}},
        {"behavior", "Isolated"},
        {"invert", false}},
       {"(pre_tokenizer)", "regular expression '\\p{N}{1,3}'"}},
      {"/normalizer",
       {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", " "}},
       {"(normalizer)", "regular expression '[0-9]+'"}},
      {"/model/type", "WordLevel", {"'model.type' is 'WordLevel'"}},
      {"/model/dropout", 0.1, {"(model)", "'dropout' is 0.1"}},
      {"/post_processor", {{"type", "Reversed"}}, {"(post_processor)", "'Reversed'"}},
      // The second text in the template of one text: there is none to put there.
      {"/post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"Sequence", {{"id", "B"}, {"type_id", 0}}}}}},
        {"pair", {{{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", nlohmann::json::object()}},
       {"(single)", "is B in the template of a single text"},
       ErrorCode::kConfig},
      // Steps nested past any real file's depth are refused before anything recurses into them.
      {"/normalizer",
       [] {
         nlohmann::json n = {{"type", "Lowercase"}};
         for (int i = 0; i < 40; ++i) n = {{"type", "Sequence"}, {"normalizers", {n}}};
         return n;
       }(),
       {"tokenizer.json", "nested deeper than 64 levels"},
       ErrorCode::kFormat},
  };
  for (const auto& c : cases) {
    const test::TempDir dir("tokenizer-refusal");
    write_variant(dir, "roberta", [&](nlohmann::json& json) {
      json[nlohmann::json::json_pointer(c.path)] = c.value;
    });
    try {
      Tokenizer::from_folder(dir.path());
      ADD_FAILURE() << c.path << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), c.code) << e.what();
      EXPECT_NE(std::string(e.what()).find("tokenizer.json"), std::string::npos) << e.what();
      for (const auto& part : c.named)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace lat
