// bf16, int8 and int8-static end to end on all-MiniLM-L6-v2 against transformers' fp32 outputs
// (golden files): parity is defined at fp32, so the bounds here are on closeness, stated per
// precision:
// - embeddings: cosine with the reference >= 0.999 at bf16 and >= 0.99 at int8 and int8-static
//   (0.9960 and 0.9951 measured);
// - a real sentiment classifier (a head trained on the frozen encoder,
//   tools/reference/make_sst2_head.py): the reference's label on all of SST-2 dev (872
//   sentences) at fp32, on >= 99% of them at bf16, on >= 98.5% at int8 and on >= 96% at
//   int8-static. Its margins are thin (69% accuracy): a stricter test of lower precisions than a
//   fine-tuned model (docs/accuracy.md). int8 gives 864 here (99.08%), 863 where the CPU has no
//   VNNI and int8 weights keep 7 bits; one run of the whole suite gave 863 on this one, so 99%
//   would sit a label from failing. int8-static gives 851 (97.6%): one range per product input
//   is coarser than each row's own.
#include <algorithm>
#include <cmath>
#include <fstream>

#include "kernels/onednn.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

using test::cosine;
using test::golden_dir;

struct Bound {
  Precision precision;
  double cosine;
};

// int8-static's ranges, calibrated at fp32 on the first 256 SST-2 training sentences (never the
// dev sentences the tests label), written into `folder`'s lat.json.
void calibrate_int8_static(const std::filesystem::path& folder) {
  std::ifstream in(test::data_dir() / "sst2" / "train.tsv");
  std::string line;
  std::getline(in, line);  // header
  std::vector<std::string> texts;
  while (texts.size() < 256 && std::getline(in, line))
    texts.push_back(line.substr(0, line.rfind('\t')));
  Settings settings;
  settings.int8_ranges = Encoder(folder, {.precision = Precision::kFp32}).calibrate_ranges(texts);
  write_settings(folder / "lat.json", settings);
}

// The MiniLM folder for `precision`: the model's own, or for int8-static links to its files in
// `dir` beside a calibrated lat.json.
std::filesystem::path model_at(Precision precision, const test::TempDir& dir) {
  if (precision != Precision::kInt8Static) return test::model_dir();
  for (const auto& entry : std::filesystem::directory_iterator(test::model_dir())) {
    if (entry.path().filename() != "lat.json") {
      std::filesystem::create_symlink(entry.path(), dir.path() / entry.path().filename());
    }
  }
  calibrate_int8_static(dir.path());
  return dir.path();
}

class LowerPrecision : public ::testing::TestWithParam<Bound> {
 protected:
  void SetUp() override {
    LAT_REQUIRE_MODEL();
    if (GetParam().precision == Precision::kBf16 && !kernels::onednn::has_bf16()) {
      GTEST_SKIP() << "oneDNN runs no bf16 products on this CPU (it needs AVX-512)";
    }
  }
};

TEST_P(LowerPrecision, MiniLmEmbeddingsStayCloseToTransformers) {
  const auto [precision, bound] = GetParam();
  const test::TempDir dir("minilm");
  const Encoder encoder(model_at(precision, dir), {.max_length = 512, .precision = precision});
  EXPECT_EQ(encoder.info().precision, precision);
  const auto golden = test::read_json(golden_dir() / "minilm.json");
  const auto outputs = test::run_in_batches(encoder, test::encodings_of(golden["inputs"]));
  double worst = 1, sum = 0;
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const double c = cosine(outputs[i].embedding,
                            golden["inputs"][i]["mean_embedding"].get<std::vector<float>>());
    worst = std::min(worst, c);
    sum += c;
  }
  EXPECT_GE(worst, bound);
  std::printf("%s embeddings against transformers: cosine min %.6f, mean %.6f over %zu inputs\n",
              to_string(precision), worst, sum / static_cast<double>(outputs.size()),
              outputs.size());
}

// The labels of the trained head on SST-2 dev at `precision`, and how many equal the reference's.
int agreeing_labels(Precision precision) {
  const auto golden = test::read_json(golden_dir() / "minilm_sst2_head.json");
  const test::TempDir dir("sst2-head");
  const auto folder = make_classifier_folder(dir, golden);
  if (precision == Precision::kInt8Static) calibrate_int8_static(folder);
  const Encoder encoder(folder, {.precision = precision});
  std::vector<std::string> texts;
  std::vector<int> gold;
  std::ifstream in(test::data_dir() / "sst2" / "dev.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    const auto tab = line.rfind('\t');
    texts.push_back(line.substr(0, tab));
    gold.push_back(std::stoi(line.substr(tab + 1)));
  }
  const auto reference = golden["dev_labels"].get<std::vector<int>>();
  EXPECT_EQ(texts.size(), reference.size());
  int agreed = 0, correct = 0;
  for (std::size_t start = 0; start < texts.size(); start += 32) {
    const std::vector<std::string> batch(
        texts.begin() + static_cast<std::ptrdiff_t>(start),
        texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), start + 32)));
    const auto results = encoder.classify(batch);
    for (std::size_t i = 0; i < results.size(); ++i) {
      agreed += results[i].label == reference[start + i] ? 1 : 0;
      correct += results[i].label == gold[start + i] ? 1 : 0;
    }
  }
  std::printf(
      "%s: %d of %zu SST-2 dev labels equal the reference's; accuracy %.4f (reference %.4f)\n",
      to_string(precision), agreed, texts.size(), correct / double(texts.size()),
      golden["dev_accuracy"].get<double>());
  return agreed;
}

TEST_P(LowerPrecision, SentimentClassifierKeepsTheReferenceLabels) {
  const Precision precision = GetParam().precision;
  const double share = precision == Precision::kInt8Static ? 0.96
                       : precision == Precision::kInt8     ? 0.985
                                                           : 0.99;
  EXPECT_GE(agreeing_labels(precision), share * 872);
}

TEST(Precision, Fp32SentimentClassifierGivesTheReferenceLabels) {
  LAT_REQUIRE_MODEL();
  EXPECT_EQ(agreeing_labels(Precision::kFp32), 872);
}

TEST_P(LowerPrecision, PrunedRunsKeepTheScheduledCounts) {
  const auto precision = GetParam().precision;
  const test::TempDir dir("minilm");
  const Encoder encoder(model_at(precision, dir), {.speedup = 2.0, .precision = precision});
  const std::vector<std::string> texts{
      "A warm, funny and beautifully acted film that stays with you long after it ends.", "ok"};
  const auto results = encoder.embed(texts);
  for (const auto& r : results) EXPECT_EQ(r.run.kept, encoder.schedule(r.run.tokens).keep);
}

INSTANTIATE_TEST_SUITE_P(Precision, LowerPrecision,
                         ::testing::Values(Bound{Precision::kBf16, 0.999},
                                           Bound{Precision::kInt8, 0.99},
                                           Bound{Precision::kInt8Static, 0.99}),
                         [](const auto& param) {
                           std::string name = to_string(param.param.precision);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(Precision, NamesRoundTrip) {
  for (Precision p : kPrecisions) EXPECT_EQ(precision_from_string(to_string(p)), p);
  EXPECT_EQ(precision_names(), "fp32, bf16, int8 or int8-static");
  EXPECT_EQ(precision_from_string("float32"), std::nullopt);
  EXPECT_EQ(precision_from_string("INT8"), std::nullopt);
}

TEST(Precision, LatJsonSetsItAndOptionsWin) {
  const test::TempDir dir("precision");
  for (const auto& entry : std::filesystem::directory_iterator(golden_dir() / "tiny-bert")) {
    std::filesystem::copy(entry.path(), dir.path() / entry.path().filename());
  }
  test::write_file(dir.path() / "lat.json", R"({"precision": "int8", "weight_flops": 12})");
  const Encoder from_file(dir.path());
  EXPECT_EQ(from_file.info().precision, Precision::kInt8);
  EXPECT_EQ(from_file.policy().cost().weight_flops, 12);
  // The calibrated cost model was measured at int8: at fp32 the FLOP count stands.
  const Encoder overridden(dir.path(), {.precision = Precision::kFp32});
  EXPECT_EQ(overridden.info().precision, Precision::kFp32);
  EXPECT_EQ(overridden.policy().cost().weight_flops, 0);
  EXPECT_EQ(Encoder(golden_dir() / "tiny-bert").info().precision, Precision::kFp32);
}

}  // namespace
}  // namespace lat
