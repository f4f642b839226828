// Each kind of tokenizer.json lat runs against Hugging Face tokenizers: small tokenizers trained
// on the shared training data, and the reference's ids for evaluation texts and hard cases
// (golden files by tools/reference/make_tokenizer_golden.py).
#include <filesystem>

#include "lat/error.hpp"
#include "lat/tokenizer.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;

fs::path kind_dir(const std::string& kind) { return test::golden_dir() / "tokenizers" / kind; }

// The reference's full ids and type ids of every case: singles and pairs at several lengths.
void expect_cases(const Tokenizer& tok, const nlohmann::json& cases) {
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const int max_length = c["max_length"];
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

INSTANTIATE_TEST_SUITE_P(Golden, TokenizerKinds,
                         ::testing::Values("mpnet", "distilbert", "electra"));

}  // namespace
}  // namespace lat
