// Token ids against Hugging Face's tokenizer (golden files by tools/reference/make_golden.py);
// the hard cases are in test_tokenizer_components.cpp with the other kinds.
#include <fstream>

#include "lat/error.hpp"
#include "lat/tokenizer.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

using test::golden_dir;

class DataDigests : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(DataDigests, EveryTextEqualsReference) {
  LAT_REQUIRE_MODEL();
  const auto [data_file, golden_file] = GetParam();
  const auto path = test::data_dir() / data_file;
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "evaluation data missing at " << path;
  const auto tok = Tokenizer::from_folder(test::model_dir());
  const int count = test::expect_token_digests(
      path, golden_dir() / golden_file,
      [&](const std::string& text) { return tok.encode(text, 512).ids; });
  RecordProperty("texts", count);
}

INSTANTIATE_TEST_SUITE_P(
    SharedData, DataDigests,
    ::testing::Values(std::pair{"sst2/train.tsv", "token_ids_sst2_train.txt"},
                      std::pair{"sst2/dev.tsv", "token_ids_sst2_dev.txt"},
                      std::pair{"imdb/train.tsv", "token_ids_imdb_train.txt"},
                      std::pair{"imdb/test.tsv", "token_ids_imdb_test.txt"}),
    [](const auto& param_info) {
      std::string name = std::filesystem::path(param_info.param.first).parent_path().string() +
                         "_" + std::filesystem::path(param_info.param.first).stem().string();
      return name;
    });

TEST(Tokenizer, VocabTxtFolderLoads) {
  const auto tok = Tokenizer::from_folder(golden_dir() / "tiny-bert");
  EXPECT_EQ(tok.vocab_size(), 5000);
  EXPECT_EQ(tok.token(*tok.special_id(SpecialToken::kCls)), "[CLS]");
  const auto e = tok.encode("the cat", 512);
  EXPECT_EQ(e.ids.front(), *tok.special_id(SpecialToken::kCls));
  EXPECT_EQ(e.ids.back(), *tok.special_id(SpecialToken::kSep));
}

TEST(Tokenizer, InvalidUtf8NamesTheByteOffset) {
  const auto tok = Tokenizer::from_folder(golden_dir() / "tiny-bert");
  const std::pair<std::string, std::string> bad[] = {
      {"ok \xff here", "byte offset 3"},
      {"ab\xc3", "byte offset 2"},
      {"\xe2\x82 x", "byte offset 0"},
      {"x\xc0\xaf", "byte offset 1"},
      {"\xed\xa0\x80 surrogate", "byte offset 0"},
      {"\xf4\x90\x80\x80", "byte offset 0"},
  };
  for (const auto& [text, where] : bad) {
    try {
      tok.encode(text, 512);
      ADD_FAILURE() << "no error for invalid UTF-8";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInput);
      EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
    }
  }
}

TEST(Tokenizer, LongTextIsTruncatedAndSaysSo) {
  const auto tok = Tokenizer::from_folder(golden_dir() / "tiny-bert");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "the ";
  const auto e = tok.encode(text, 512);
  EXPECT_EQ(e.ids.size(), 512u);
  EXPECT_TRUE(e.truncated);
  EXPECT_FALSE(tok.encode("the", 512).truncated);
}

TEST(Tokenizer, EmptyTextIsClsSep) {
  const auto tok = Tokenizer::from_folder(golden_dir() / "tiny-bert");
  EXPECT_EQ(tok.encode("", 512).ids,
            (std::vector<std::int32_t>{*tok.special_id(SpecialToken::kCls),
                                       *tok.special_id(SpecialToken::kSep)}));
}

}  // namespace
}  // namespace lat
