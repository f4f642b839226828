// Text pairs as a task: two cross-encoder rerankers with one logit and seeded random weights
// (tools/reference/make_reranker_golden.py: a BERT with WordPiece and token types, the shape of
// ms-marco-MiniLM-L6-v2, and an XLM-R with Unigram, the shape of bge-reranker-base) against
// sentence-transformers' CrossEncoder. Tolerance: scores and logits within 1e-4 (max abs
// difference), the same token ids and rank order; pruned at s = 2, the reference's kept positions
// in every layer (tools/reference/lat_reference.py). The head's activation follows the folder.
#include <algorithm>
#include <cmath>
#include <fstream>

#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;
constexpr float kTolerance = 1e-4f;

fs::path reranker_dir(const std::string& shape) { return test::golden_dir() / "rerankers" / shape; }
nlohmann::json golden_of(const std::string& shape) {
  return test::read_json(test::golden_dir() / "rerankers" / (shape + ".json"));
}

std::vector<TextPair> pairs_of(const nlohmann::json& golden) {
  std::vector<TextPair> pairs;
  for (const auto& p : golden["pairs"]) pairs.push_back({p["first"], p["second"]});
  return pairs;
}

class Rerankers : public ::testing::TestWithParam<std::string> {};

TEST_P(Rerankers, PairIdsEqualTheReferenceTokenizersLongestFirst) {
  const auto golden = golden_of(GetParam());
  const Encoder encoder(reranker_dir(GetParam()));
  int cut = 0;
  for (const auto& p : golden["pairs"]) {
    const auto e =
        encoder.tokenize_pair(p["first"].get<std::string>(), p["second"].get<std::string>());
    EXPECT_EQ(e.ids, p["ids"].get<std::vector<std::int32_t>>())
        << p["first"].get<std::string>().substr(0, 60);
    // Type ids all zero may be given as none.
    auto zero = [](std::vector<std::int32_t> types) {
      if (std::all_of(types.begin(), types.end(), [](int t) { return t == 0; })) types.clear();
      return types;
    };
    EXPECT_EQ(zero(e.type_ids), zero(p["type_ids"].get<std::vector<std::int32_t>>()));
    cut += e.truncated ? 1 : 0;
  }
  EXPECT_GT(cut, 2) << "long documents are cut to " << golden["max_length"];
}

TEST_P(Rerankers, ScoresEqualCrossEncoderPredict) {
  const auto golden = golden_of(GetParam());
  const Encoder encoder(reranker_dir(GetParam()));
  EXPECT_EQ(encoder.info().activation, HeadActivation::kSigmoid);
  ASSERT_EQ(encoder.info().labels.size(), 1u);
  const auto pairs = pairs_of(golden);
  // In batches of 7, so that a batch mixes short and cut pairs.
  float score = 0, logit = 0, spread_lo = 1, spread_hi = 0;
  for (std::size_t start = 0; start < pairs.size(); start += 7) {
    const std::size_t end = std::min(pairs.size(), start + 7);
    const auto results =
        encoder.classify(std::span<const TextPair>(pairs.data() + start, pairs.data() + end));
    for (std::size_t i = start; i < end; ++i) {
      const auto& r = results[i - start];
      const auto& g = golden["pairs"][i];
      ASSERT_EQ(r.probs.size(), 1u);
      score = std::max(score, std::abs(r.probs[0] - g["score"].get<float>()));
      logit = std::max(logit, std::abs(r.logits[0] - g["logit"].get<float>()));
      spread_lo = std::min(spread_lo, r.probs[0]);
      spread_hi = std::max(spread_hi, r.probs[0]);
    }
  }
  EXPECT_LE(score, kTolerance);
  EXPECT_LE(logit, kTolerance);
  EXPECT_LT(spread_lo, 0.9f * spread_hi) << "a one-logit head gives scores, not probability 1";
  std::printf("%s: %zu pairs, max abs diff score %.3g, logit %.3g\n", GetParam().c_str(),
              pairs.size(), static_cast<double>(score), static_cast<double>(logit));
}

TEST_P(Rerankers, RerankGivesCrossEncoderRankOrder) {
  const auto golden = golden_of(GetParam());
  const Encoder encoder(reranker_dir(GetParam()));
  for (const auto& g : golden["rank"]) {
    const auto documents = g["documents"].get<std::vector<std::string>>();
    const std::optional<int> top_k =
        g["top_k"].is_null() ? std::nullopt : std::optional(g["top_k"].get<int>());
    const auto ranked = encoder.rerank(g["query"].get<std::string>(), documents, top_k);
    std::vector<int> order;
    float worst = 0;
    for (std::size_t i = 0; i < ranked.size(); ++i) {
      order.push_back(ranked[i].index);
      worst = std::max(worst, std::abs(ranked[i].score - g["scores"][i].get<float>()));
    }
    EXPECT_EQ(order, g["order"].get<std::vector<int>>());
    EXPECT_LE(worst, kTolerance);
  }
}

TEST_P(Rerankers, PrunedPairsKeepTheReferencesPositionsAndRowZero) {
  const auto golden = golden_of(GetParam());
  const auto pairs = pairs_of(golden);
  const Encoder encoder(reranker_dir(GetParam()), {.speedup = 2.0, .trace = true});
  const auto results = encoder.classify(pairs);
  float logits = 0;
  int pruned = 0;
  for (const auto& c : golden["pruned"]) {
    const auto& r = results[c["pair"].get<std::size_t>()];
    EXPECT_EQ(r.run.kept, c["keep"].get<std::vector<int>>());
    ASSERT_EQ(r.run.trace.size(), c["layers"].size());
    for (std::size_t l = 0; l < r.run.trace.size(); ++l) {
      const auto& positions = r.run.trace[l].positions;
      EXPECT_EQ(positions, c["layers"][l].get<std::vector<int>>()) << "layer " << l + 1;
      ASSERT_FALSE(positions.empty());
      EXPECT_EQ(positions.front(), 0) << "row 0 is always kept";
    }
    logits = std::max(logits, test::max_abs_diff(r.logits, c["logits"].get<std::vector<float>>()));
    pruned += r.run.kept.back() < r.run.tokens ? 1 : 0;
  }
  EXPECT_LE(logits, kTolerance);
  EXPECT_GT(pruned, 10);
}

INSTANTIATE_TEST_SUITE_P(Shapes, Rerankers, ::testing::Values("bert", "xlm-roberta"),
                         [](const auto& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// The bert reranker's folder with config.json changed by `edit`.
fs::path edited_copy(const test::TempDir& dir, const std::function<void(nlohmann::json&)>& edit) {
  for (const auto& f : fs::directory_iterator(reranker_dir("bert")))
    fs::copy_file(f.path(), dir.path() / f.path().filename());
  auto config = test::read_json(dir.path() / "config.json");
  edit(config);
  test::write_file(dir.path() / "config.json", config.dump());
  return dir.path();
}

TEST(HeadActivation, FollowsTheFolder) {
  const auto golden = golden_of("bert");
  const std::vector<TextPair> pair{{golden["pairs"][0]["first"], golden["pairs"][0]["second"]}};
  const float logit = golden["pairs"][0]["logit"];
  struct Case {
    const char* what;
    std::function<void(nlohmann::json&)> edit;
    HeadActivation expected;
  };
  const Case cases[] = {
      {"problem_type regression", [](auto& c) { c["problem_type"] = "regression"; },
       HeadActivation::kIdentity},
      {"sentence-transformers 4's Identity",
       [](auto& c) {
         c["sentence_transformers"] = {{"activation_fn", "torch.nn.modules.linear.Identity"}};
       },
       HeadActivation::kIdentity},
      {"sentence-transformers 3's Identity",
       [](auto& c) {
         c["sbert_ce_default_activation_function"] = "torch.nn.modules.linear.Identity";
       },
       HeadActivation::kIdentity},
      {"sentence-transformers' Sigmoid over problem_type",
       [](auto& c) {
         c["problem_type"] = "regression";
         c["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Sigmoid";
       },
       HeadActivation::kSigmoid},
      {"one logit", [](auto&) {}, HeadActivation::kSigmoid},
  };
  for (const auto& c : cases) {
    const test::TempDir dir("head-activation");
    const Encoder encoder(edited_copy(dir, c.edit));
    EXPECT_EQ(encoder.info().activation, c.expected) << c.what;
    const auto r = encoder.classify(pair);
    const float expected =
        c.expected == HeadActivation::kIdentity ? logit : 1.f / (1.f + std::exp(-logit));
    EXPECT_NEAR(r[0].probs[0], expected, kTolerance) << c.what;
  }
}

TEST(HeadActivation, UnknownNamesAreErrorsNamingTheField) {
  const std::pair<const char*, std::function<void(nlohmann::json&)>> bad[] = {
      {"sbert_ce_default_activation_function",
       [](auto& c) { c["sbert_ce_default_activation_function"] = "torch.nn.modules.Tanh"; }},
      {"sentence_transformers.activation_fn",
       [](auto& c) {
         c["sentence_transformers"] = {{"activation_fn", 3}};
       }},
      {"problem_type", [](auto& c) { c["problem_type"] = "ranking"; }},
  };
  for (const auto& [field, edit] : bad) {
    const test::TempDir dir("head-activation-bad");
    const fs::path folder = edited_copy(dir, edit);
    try {
      const Encoder encoder(folder);
      ADD_FAILURE() << field << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
    }
  }
}

TEST(HeadActivation, ActivateIsSoftmaxSigmoidOrIdentity) {
  const std::vector<float> logits{1.f, -2.f, 0.5f};
  const auto softmax = activate(HeadActivation::kSoftmax, logits);
  float sum = 0;
  for (float p : softmax) sum += p;
  EXPECT_NEAR(sum, 1.f, 1e-6f);
  EXPECT_NEAR(softmax[0] / softmax[2], std::exp(0.5f), 1e-5f);
  EXPECT_NEAR(activate(HeadActivation::kSigmoid, logits)[1], 1.f / (1.f + std::exp(2.f)), 1e-7f);
  EXPECT_EQ(activate(HeadActivation::kIdentity, logits), logits);
  EXPECT_STREQ(to_string(HeadActivation::kIdentity), "identity");
}

// Families without token types drop a pair template's type ids, as transformers does: a pair
// runs as its ids alone.
TEST(Pairs, FamiliesWithoutTokenTypesDropTheTypeIds) {
  for (const char* family : {"distilbert", "modernbert"}) {
    const Encoder encoder(test::golden_dir() / "families" / family);
    const std::vector<TextPair> pairs{{"what is the capital of France?", "Paris is its capital."}};
    auto e = encoder.tokenize_pair(pairs[0].first, pairs[0].second);
    ASSERT_NE(std::count(e.type_ids.begin(), e.type_ids.end(), 1), 0) << family;
    const auto scored = encoder.classify(pairs);
    e.type_ids.clear();
    EXPECT_EQ(scored[0].logits, encoder.run(std::vector{e})[0].logits) << family;
  }
}

TEST(Rerank, RefusesHeadsOfSeveralLogitsAndBadTopK) {
  const Encoder several(test::golden_dir() / "families" / "roberta");
  const std::vector<std::string> docs{"a", "b"};
  try {
    (void)several.rerank("q", docs);
    ADD_FAILURE() << "rerank on a head of 3 logits";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("one logit"), std::string::npos) << e.what();
  }
  const Encoder reranker(reranker_dir("bert"));
  EXPECT_THROW((void)reranker.rerank("q", docs, 0), Error);
  EXPECT_TRUE(reranker.rerank("q", {}).empty());
  EXPECT_EQ(reranker.rerank("q", docs, 5).size(), 2u);
  EXPECT_EQ(reranker.rerank("q", docs, 1).size(), 1u);
}

}  // namespace
}  // namespace lat
