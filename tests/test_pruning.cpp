// The pruned encoder against the PyTorch reference (tools/reference/lat_reference.py) at
// speedups 1.5, 2 and 3: keep counts, kept positions in every layer, and outputs within 1e-4.
#include <algorithm>
#include <cmath>

#include "cost_fit.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

constexpr float kTolerance = 1e-4f;

struct Worst {
  float hidden = 0, embedding = 0, logits = 0, acc = 0;
  int position_mismatches = 0;
};

// Runs every golden input at every speedup of the golden file and compares.
void compare(const std::filesystem::path& folder, const nlohmann::json& golden,
             const std::vector<float>& values, const char* embedding_key) {
  Worst w;
  const auto inputs = test::encodings_of(golden["inputs"]);
  std::map<double, std::vector<const nlohmann::json*>> by_speedup;
  for (const auto& c : golden["cases"]) by_speedup[c["speedup"].get<double>()].push_back(&c);
  for (const auto& [speedup, cases] : by_speedup) {
    const Encoder encoder(folder, {.max_length = 512, .speedup = speedup, .trace = true});
    const auto outputs = test::run_in_batches(encoder, inputs);
    for (const nlohmann::json* cp : cases) {
      const auto& c = *cp;
      const auto& out = outputs[c["input"].get<std::size_t>()];
      const std::string where =
          "input " + c["input"].dump() + " at speedup " + std::to_string(speedup);
      const auto schedule = encoder.schedule(out.run.tokens);
      EXPECT_EQ(schedule.keep, c["keep"].get<std::vector<int>>()) << where;
      EXPECT_EQ(schedule.ratio, c["ratio"].get<double>()) << where;
      EXPECT_EQ(out.run.kept, c["keep"].get<std::vector<int>>()) << where;
      if (out.run.trace.size() != c["layers"].size()) {
        ADD_FAILURE() << where << ": no trace of every layer";
        continue;
      }
      for (std::size_t l = 0; l < out.run.trace.size(); ++l) {
        const auto& ref = c["layers"][l];
        w.acc = std::max(
            w.acc, test::max_abs_diff(out.run.trace[l].acc, ref["acc"].get<std::vector<float>>()));
        if (out.run.trace[l].positions != ref["kept"].get<std::vector<int>>()) {
          ++w.position_mismatches;
          ADD_FAILURE() << where << ", layer " << l + 1 << ": kept positions differ";
        }
      }
      if (out.positions != c["positions"].get<std::vector<int>>()) continue;
      const auto d = static_cast<int>(out.hidden.size() / out.positions.size());
      std::size_t offset = c["offset"];
      for (int row : c["rows"].get<std::vector<int>>()) {
        for (int j = 0; j < d; ++j) {
          w.hidden = std::max(w.hidden, std::abs(out.hidden[static_cast<std::size_t>(row * d + j)] -
                                                 values[offset++]));
        }
      }
      w.embedding =
          std::max(w.embedding,
                   test::max_abs_diff(out.embedding, c[embedding_key].get<std::vector<float>>()));
      w.logits =
          std::max(w.logits, test::max_abs_diff(out.logits, c["logits"].get<std::vector<float>>()));
    }
  }
  EXPECT_EQ(w.position_mismatches, 0);
  EXPECT_LE(w.hidden, kTolerance);
  EXPECT_LE(w.embedding, kTolerance);
  EXPECT_LE(w.logits, kTolerance);
  EXPECT_LE(w.acc, kTolerance);
  std::printf("%zu cases: max abs diff hidden %.3g, embedding %.3g, logits %.3g, ACC %.3g\n",
              golden["cases"].size(), static_cast<double>(w.hidden),
              static_cast<double>(w.embedding), static_cast<double>(w.logits),
              static_cast<double>(w.acc));
}

TEST(Pruning, MiniLmMatchesReference) {
  LAT_REQUIRE_MODEL();
  const auto golden = test::read_json(test::golden_dir() / "minilm_pruned.json");
  ASSERT_GE(golden["inputs"].size(), 30u);
  const test::TempDir dir("pruned");
  const auto head = test::read_json(test::golden_dir() / "minilm.json")["classifier_head"];
  // The classifier folder has no modules.json: its embedding is the [CLS] row.
  compare(test::make_classifier_folder(dir, head), golden,
          test::read_f32(test::golden_dir() / "minilm_pruned.f32"), "cls_embedding");
}

TEST(Pruning, UnusualShapeModelMatchesReference) {
  const auto golden = test::read_json(test::golden_dir() / "tiny_pruned.json");
  compare(test::golden_dir() / "tiny-bert", golden,
          test::read_f32(test::golden_dir() / "tiny_pruned.f32"), "cls_embedding");
}

TEST(Pruning, MeanPoolingAveragesKeptRows) {
  LAT_REQUIRE_MODEL();
  const Encoder encoder(test::model_dir(), {.speedup = 3.0});
  std::string text;
  for (int i = 0; i < 40; ++i) text += "word" + std::to_string(i) + " ";
  const auto out = encoder.run(std::vector{encoder.tokenize(text)});
  const auto& o = out[0];
  ASSERT_LT(o.positions.size(), static_cast<std::size_t>(o.run.tokens));
  const std::size_t d = o.embedding.size();
  std::vector<float> mean(d, 0.f);
  for (std::size_t r = 0; r < o.positions.size(); ++r) {
    for (std::size_t j = 0; j < d; ++j)
      mean[j] += o.hidden[r * d + j] / static_cast<float>(o.positions.size());
  }
  double norm = 0;
  for (float v : mean) norm += double{v} * v;
  for (float& v : mean) v = static_cast<float>(v / std::sqrt(norm));
  EXPECT_LE(test::max_abs_diff(o.embedding, mean), 1e-6f);
}

TEST(Pruning, LatJsonSetsTheKnobAndOptionsOverrideIt) {
  const test::TempDir dir("knob");
  for (const auto& f : std::filesystem::directory_iterator(test::golden_dir() / "tiny-bert")) {
    std::filesystem::copy_file(f.path(), dir.path() / f.path().filename());
  }
  test::write_file(dir.path() / "lat.json", R"({"speedup": 2.0})");
  EXPECT_EQ(Encoder(dir.path()).policy().speedup(), 2.0);
  EXPECT_EQ(Encoder(dir.path(), {.speedup = 1.0}).policy().speedup(), 1.0);
  EXPECT_EQ(Encoder(test::golden_dir() / "tiny-bert").policy().speedup(), 1.0);

  test::write_file(dir.path() / "lat.json", R"({"speedup": 2.0, "weight_flops": 40})");
  const Encoder calibrated(dir.path());
  EXPECT_EQ(calibrated.policy().cost().weight_flops, 40.0);
  const EncoderInfo& i = calibrated.info();
  const ModelShape shape{i.layers, i.hidden, i.intermediate};
  EXPECT_EQ(calibrated.schedule(64).keep, make_schedule(shape, 64, 2.0, {40.0}).keep);
  EXPECT_EQ(Encoder(dir.path(), {.cost = CostModel{}}).policy().cost().weight_flops, 0.0);

  // The inputs of one call share the weights' reading: a batch of 8 is cut less than one input,
  // and each of its inputs runs the schedule of its batch.
  const std::vector<std::string> texts(8, "the cat sat on the mat today while the dog slept");
  const auto batch = calibrated.classify(texts);
  const auto one = calibrated.classify(std::span(texts).first(1));
  EXPECT_EQ(one[0].run.kept, calibrated.schedule(one[0].run.tokens).keep);
  EXPECT_EQ(batch[0].run.kept, calibrated.schedule(batch[0].run.tokens, 8).keep);
  EXPECT_EQ(batch[0].run.kept, make_schedule(shape, batch[0].run.tokens, 2.0, {40.0, 8}).keep);
  EXPECT_GT(batch[0].run.kept.back(), one[0].run.kept.back());

  // The row floor: from lat.json or options, never below it.
  test::write_file(dir.path() / "lat.json", R"({"speedup": 3.0, "floor": 0.25})");
  const Encoder floored(dir.path());
  EXPECT_EQ(floored.policy().floor(), 0.25);
  const auto r = floored.classify(std::span(texts).first(1));
  for (int k : r[0].run.kept) EXPECT_GE(k, floor_rows(r[0].run.tokens, 0.25));
  EXPECT_EQ(Encoder(dir.path(), {.floor = 0.0}).policy().floor(), 0.0);
}

// Times made from known terms give them back; where the best fit would make a term negative, that
// term is 0 and the others are fitted without it.
TEST(Pruning, TheCostFitKeepsEveryTermNonNegative) {
  // FLOPs, scores, the call, inputs: dense, half and one row, of one input at two lengths and of
  // four inputs.
  const std::vector<CostTerms> passes = {
      {1, 1, 1, 1},  {0.5, 0.25, 1, 1}, {0.1, 0.01, 1, 1},   // one input
      {4, 16, 1, 1}, {2, 4, 1, 1},      {0.3, 0.05, 1, 1},   // one input, four times as long
      {4, 4, 1, 4},  {2, 1, 1, 4},      {0.4, 0.04, 1, 4}};  // four inputs
  auto rows_of = [&](const CostTerms& truth) {
    std::vector<CostTerms> rows;
    for (const CostTerms& p : passes) {
      double t = 0;
      for (int i = 0; i < kCostTerms; ++i) t += p[i] * truth[i];
      CostTerms& row = rows.emplace_back();
      for (int i = 0; i < kCostTerms; ++i) row[i] = p[i] / t;
    }
    return rows;
  };
  const CostTerms truth{2.0, 0.5, 0.25, 0.125};
  const auto x = fit_non_negative(rows_of(truth));
  ASSERT_TRUE(x);
  for (int i = 0; i < kCostTerms; ++i) EXPECT_NEAR((*x)[i], truth[i], 1e-9) << "term " << i;

  const auto clipped = fit_non_negative(rows_of({2.0, 0.5, 0.25, -0.05}));
  ASSERT_TRUE(clipped);
  EXPECT_GT((*clipped)[0], 0.0);
  EXPECT_EQ((*clipped)[3], 0.0);
  for (double v : *clipped) EXPECT_GE(v, 0.0);
}

TEST(Pruning, CalibrationGivesAUsableCostModel) {
  // What it measures depends on the machine; it must be a cost a schedule accepts.
  const Encoder encoder(test::golden_dir() / "tiny-bert", {.threads = 1});
  const CostModel cost = encoder.calibrate(32);
  EXPECT_TRUE(std::isfinite(cost.weight_flops));
  EXPECT_GE(cost.weight_flops, 0.0);
  EXPECT_TRUE(std::isfinite(cost.attention_flops));
  EXPECT_GE(cost.attention_flops, 0.0);
  EXPECT_TRUE(std::isfinite(cost.input_flops));
  EXPECT_GE(cost.input_flops, 0.0);
  const Encoder calibrated(test::golden_dir() / "tiny-bert", {.speedup = 2.0, .cost = cost});
  const auto r = calibrated.classify(std::vector<std::string>{"the cat sat on the mat today"});
  EXPECT_EQ(r[0].run.kept, calibrated.schedule(r[0].run.tokens).keep);
}

TEST(Pruning, TraceIsOffUnlessAsked) {
  const Encoder encoder(test::golden_dir() / "tiny-bert", {.speedup = 2.0});
  const auto r = encoder.classify(std::vector<std::string>{"the cat sat on the mat today"});
  EXPECT_TRUE(r[0].run.trace.empty());
  EXPECT_LT(r[0].run.kept.back(), r[0].run.tokens);
}

}  // namespace
}  // namespace lat
