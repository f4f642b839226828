// Encoder outputs against transformers on real weights (golden files by
// tools/reference/make_golden.py). Tolerance: max abs difference 1e-4 on every compared value.
#include <algorithm>
#include <cmath>

#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;
using test::golden_dir;
constexpr float kTolerance = 1e-4f;

// Compares sampled hidden rows, and the embedding and logits where the golden file has them.
void expect_matches(const nlohmann::json& golden, const std::vector<float>& values,
                    const std::vector<EncoderOutput>& outputs, const char* embedding_key) {
  const auto& inputs = golden["inputs"];
  float worst_hidden = 0, worst_embedding = 0, worst_logits = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& in = inputs[i];
    const auto& out = outputs[i];
    const auto n = in["ids"].size();
    ASSERT_EQ(out.positions.size(), n) << "dense runs keep every row";
    const int d = static_cast<int>(out.hidden.size() / n);
    std::size_t offset = in["offset"];
    for (int row : in["rows"].get<std::vector<int>>()) {
      for (int j = 0; j < d; ++j) {
        const float diff =
            std::abs(out.hidden[static_cast<std::size_t>(row * d + j)] - values[offset++]);
        worst_hidden = std::max(worst_hidden, diff);
      }
    }
    worst_embedding =
        std::max(worst_embedding,
                 test::max_abs_diff(out.embedding, in[embedding_key].get<std::vector<float>>()));
    if (in.contains("logits") && !out.logits.empty()) {
      worst_logits = std::max(
          worst_logits, test::max_abs_diff(out.logits, in["logits"].get<std::vector<float>>()));
    }
  }
  EXPECT_LE(worst_hidden, kTolerance);
  EXPECT_LE(worst_embedding, kTolerance);
  EXPECT_LE(worst_logits, kTolerance);
  std::printf("max abs diff: hidden %.3g, embedding %.3g, logits %.3g over %zu inputs\n",
              static_cast<double>(worst_hidden), static_cast<double>(worst_embedding),
              static_cast<double>(worst_logits), inputs.size());
}

TEST(Encoder, MiniLmHiddenStatesAndEmbeddingsMatchTransformers) {
  LAT_REQUIRE_MODEL();
  const Encoder encoder(test::model_dir(), {.max_length = 512});
  EXPECT_TRUE(encoder.info().mean_pooling);
  EXPECT_TRUE(encoder.info().normalize);
  const auto golden = test::read_json(golden_dir() / "minilm.json");
  ASSERT_GE(golden["inputs"].size(), 50u);
  const auto outputs = test::run_in_batches(encoder, test::encodings_of(golden["inputs"]));
  expect_matches(golden, test::read_f32(golden_dir() / "minilm.f32"), outputs, "mean_embedding");
}

TEST(Encoder, MiniLmTokenizesTheGoldenTextsAlike) {
  LAT_REQUIRE_MODEL();
  const auto tok = Tokenizer::from_folder(test::model_dir());
  const auto golden = test::read_json(golden_dir() / "minilm.json");
  for (const auto& in : golden["inputs"]) {
    if (!in.contains("text")) continue;
    const std::string text = in["text"];
    const int max_length = in["max_length"];
    const Encoding enc = in.contains("pair")
                             ? tok.encode_pair(text, in["pair"].get<std::string>(), max_length)
                             : tok.encode(text, max_length);
    EXPECT_EQ(enc.ids, in["ids"].get<std::vector<std::int32_t>>()) << text;
  }
}

TEST(Encoder, MiniLmClassifierLogitsMatchTransformers) {
  LAT_REQUIRE_MODEL();
  const auto golden = test::read_json(golden_dir() / "minilm.json");
  const test::TempDir dir("classifier");
  const Encoder encoder(make_classifier_folder(dir, golden["classifier_head"]),
                        {.max_length = 512});
  ASSERT_TRUE(encoder.info().classifier);
  EXPECT_EQ(encoder.info().labels, (std::vector<std::string>{"negative", "neutral", "positive"}));
  const auto outputs = test::run_in_batches(encoder, test::encodings_of(golden["inputs"]));
  float worst = 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    worst = std::max(worst,
                     test::max_abs_diff(outputs[i].logits,
                                        golden["inputs"][i]["logits"].get<std::vector<float>>()));
  }
  EXPECT_LE(worst, kTolerance);
  std::printf("classifier logits: max abs diff %.3g\n", static_cast<double>(worst));

  const std::vector<std::string> texts{"a gorgeous film", "it is dull", ""};
  const auto results = encoder.classify(texts);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.probs.size(), 3u);
    float sum = 0;
    for (float p : r.probs) sum += p;
    EXPECT_NEAR(sum, 1.f, 1e-5f);
    EXPECT_EQ(r.label, std::max_element(r.logits.begin(), r.logits.end()) - r.logits.begin());
    EXPECT_EQ(r.label_name, encoder.info().labels[static_cast<std::size_t>(r.label)]);
  }
  EXPECT_EQ(results[2].run.tokens, 2) << "an empty text runs as [CLS] [SEP]";
}

TEST(Encoder, UnusualShapeBf16ModelMatchesTransformers) {
  const Encoder encoder(golden_dir() / "tiny-bert");
  const auto& info = encoder.info();
  EXPECT_EQ(info.hidden, 48);
  EXPECT_EQ(info.heads, 3);
  EXPECT_EQ(info.layers, 5);
  EXPECT_EQ(info.labels, (std::vector<std::string>{"red", "green", "blue"}));
  const auto golden = test::read_json(golden_dir() / "tiny.json");
  const auto outputs = test::run_in_batches(encoder, test::encodings_of(golden["inputs"]));
  expect_matches(golden, test::read_f32(golden_dir() / "tiny.f32"), outputs, "cls_embedding");
}

// More rows than one pass takes (model/forward.cpp, kPassRows) run as several passes: each
// input's rows, embedding, kept counts and trace are its own.
TEST(Encoder, ABatchOfSeveralPassesMatchesTransformers) {
  LAT_REQUIRE_MODEL();
  const Encoder encoder(test::model_dir(), {.max_length = 512});
  const auto golden = test::read_json(golden_dir() / "minilm.json");
  const auto inputs = test::encodings_of(golden["inputs"]);
  std::size_t rows = 0;
  for (const auto& e : inputs) rows += e.ids.size();
  ASSERT_GT(rows, 2 * 2048u) << "the golden inputs fill three passes";
  expect_matches(golden, test::read_f32(golden_dir() / "minilm.f32"), encoder.run(inputs),
                 "mean_embedding");
  const Encoder pruned(test::model_dir(), {.max_length = 512, .speedup = 2.0, .trace = true});
  const auto results = pruned.run(inputs);
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const RunInfo& run = results[i].run;
    ASSERT_EQ(run.tokens, static_cast<int>(inputs[i].ids.size()));
    ASSERT_EQ(results[i].positions.size(), static_cast<std::size_t>(run.kept.back())) << i;
    ASSERT_EQ(run.trace.size(), run.kept.size());
    for (std::size_t l = 0; l < run.kept.size(); ++l) {
      ASSERT_EQ(run.trace[l].positions.size(), static_cast<std::size_t>(run.kept[l])) << i;
      ASSERT_EQ(run.trace[l].acc.size(),
                l == 0 ? inputs[i].ids.size() : static_cast<std::size_t>(run.kept[l - 1]));
    }
    ASSERT_EQ(run.trace.back().positions, results[i].positions);
  }
}

TEST(Encoder, ResultsCarryTokensKeepCountsAndTime) {
  const Encoder encoder(golden_dir() / "tiny-bert");
  const std::vector<std::string> texts{"the cat sat", "a"};
  const auto results = encoder.classify(texts);
  EXPECT_EQ(results[0].run.tokens, 5);
  EXPECT_EQ(results[0].run.kept, (std::vector<int>(5, 5)));
  EXPECT_EQ(results[1].run.kept, (std::vector<int>(5, 3)));
  EXPECT_GT(results[0].run.ms, 0.0);
}

TEST(Encoder, EmbeddingModelWithoutHeadRefusesClassify) {
  LAT_REQUIRE_MODEL();
  const Encoder encoder(test::model_dir());
  const std::vector<std::string> texts{"x"};
  EXPECT_THROW(encoder.classify(texts), Error);
  const auto e = encoder.embed(texts);
  double norm = 0;
  for (float v : e[0].values) norm += double{v} * v;
  EXPECT_NEAR(norm, 1.0, 1e-5) << "modules.json asks for normalised embeddings";
}

TEST(Encoder, ZeroShotPicksTheCloserDescription) {
  LAT_REQUIRE_MODEL();
  // The classifier keeps the encoder alive: the caller's handle may go first.
  auto encoder = std::make_shared<const Encoder>(test::model_dir());
  const ZeroShotClassifier zs(encoder, {{"sports", "This text is about sports."},
                                        {"cooking", "This text is about cooking food."}});
  encoder.reset();
  const std::vector<std::string> texts{"The striker scored twice in the final match.",
                                       "Whisk the eggs and bake the cake for 30 minutes."};
  const auto r = zs.classify(texts);
  EXPECT_EQ(r[0].label_name, "sports");
  EXPECT_EQ(r[1].label_name, "cooking");
}

}  // namespace
}  // namespace lat
