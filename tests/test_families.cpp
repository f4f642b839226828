// The encoder families beyond BERT against transformers: a small *ForSequenceClassification of
// each with seeded random weights stored in BF16 (tools/reference/make_family_golden.py), run as
// stored and converted to F32 and F16 (the reference runs the same values in fp32). Tolerance: max
// abs difference 1e-4 on every compared value; under pruning, the kept positions of every layer
// equal the reference's (tools/reference/lat_reference.py, pruned_forward).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>

#include "io/safetensors.hpp"
#include "kernels/onednn.hpp"
#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;
constexpr float kTolerance = 1e-4f;

fs::path family_dir(const std::string& family) { return test::golden_dir() / "families" / family; }

// IEEE half precision bits of f, rounded to nearest even (finite values within half's range).
std::uint16_t f16_bits(float f) {
  const auto x = std::bit_cast<std::uint32_t>(f);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const float a = std::abs(f);
  if (a < 0x1p-14f)  // subnormal in half: a multiple of 2^-24
    return static_cast<std::uint16_t>(sign | static_cast<std::uint16_t>(std::lrint(a * 0x1p24f)));
  const std::uint32_t m = (x & 0x7fffffffu) + 0xfffu + (((x & 0x7fffffffu) >> 13) & 1u);
  return static_cast<std::uint16_t>(sign | ((m >> 13) - ((127u - 15u) << 10)));
}

// The folder again, its weights stored as F32 or F16. The BF16 values fit F16 (bar a few tiny ones
// that round to its subnormals), so the reference's outputs stand for both.
fs::path converted_copy(const test::TempDir& dir, const fs::path& folder,
                        const std::string& dtype) {
  for (const auto& f : fs::directory_iterator(folder)) {
    if (f.path().filename() != "model.safetensors")
      fs::copy_file(f.path(), dir.path() / f.path().filename());
  }
  const io::SafeTensors file(folder / "model.safetensors");
  std::map<std::string, test::TensorSpec> tensors;
  for (const auto& [name, t] : file.tensors()) {
    const auto values = file.load_f32(name, t.shape);
    if (dtype == "F32") {
      tensors[name] = test::f32_tensor(t.shape, values);
    } else {
      std::string bytes(values.size() * 2, '\0');
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint16_t h = f16_bits(values[i]);
        std::memcpy(bytes.data() + 2 * i, &h, 2);
      }
      tensors[name] = {"F16", t.shape, std::move(bytes)};
    }
  }
  test::write_file(dir.path() / "model.safetensors", test::safetensors_bytes(tensors));
  return dir.path();
}

float worst_rows(const std::vector<float>& hidden, int d, const nlohmann::json& rows,
                 std::size_t offset, const std::vector<float>& values) {
  float worst = 0;
  for (int row : rows.get<std::vector<int>>()) {
    for (int j = 0; j < d; ++j) {
      worst = std::max(worst,
                       std::abs(hidden[static_cast<std::size_t>(row * d + j)] - values[offset++]));
    }
  }
  return worst;
}

class Families : public ::testing::TestWithParam<std::string> {};

TEST_P(Families, DenseMatchesTransformersInBf16F32AndF16) {
  const std::string family = GetParam();
  const auto golden = test::read_json(test::golden_dir() / "families" / (family + ".json"));
  const auto values = test::read_f32(test::golden_dir() / "families" / (family + ".f32"));
  const test::TempDir f32_dir("family-f32"), f16_dir("family-f16");
  const std::pair<const char*, fs::path> stored[] = {
      {"BF16", family_dir(family)},
      {"F32", converted_copy(f32_dir, family_dir(family), "F32")},
      {"F16", converted_copy(f16_dir, family_dir(family), "F16")}};
  for (const auto& [dtype, folder] : stored) {
    const Encoder encoder(folder);
    EXPECT_EQ(encoder.info().model_type, golden.value("model_type", family));
    ASSERT_TRUE(encoder.info().classifier);
    const auto outputs = test::run_in_batches(encoder, test::encodings_of(golden["inputs"]));
    float hidden = 0, embedding = 0, logits = 0;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      const auto& in = golden["inputs"][i];
      const auto& out = outputs[i];
      const int d = encoder.info().hidden;
      hidden = std::max(hidden, worst_rows(out.hidden, d, in["rows"], in["offset"], values));
      embedding = std::max(
          embedding,
          test::max_abs_diff(out.embedding, in["cls_embedding"].get<std::vector<float>>()));
      logits =
          std::max(logits, test::max_abs_diff(out.logits, in["logits"].get<std::vector<float>>()));
    }
    EXPECT_LE(hidden, kTolerance);
    EXPECT_LE(embedding, kTolerance);
    EXPECT_LE(logits, kTolerance);
    std::printf(
        "%s (%s weights): max abs diff hidden %.3g, first row %.3g, logits %.3g over %zu "
        "inputs\n",
        family.c_str(), dtype, static_cast<double>(hidden), static_cast<double>(embedding),
        static_cast<double>(logits), outputs.size());
  }
}

// bf16 and int8 against the reference's fp32 first rows, by the bounds all-MiniLM-L6-v2 meets
// (test_precision.cpp): cosine >= 0.999 at bf16 and >= 0.99 at int8, on every input.
TEST_P(Families, LowerPrecisionsStayCloseToTransformers) {
  const std::string family = GetParam();
  const auto golden = test::read_json(test::golden_dir() / "families" / (family + ".json"));
  const auto inputs = test::encodings_of(golden["inputs"]);
  for (const auto& [precision, bound] :
       {std::pair{Precision::kBf16, 0.999}, {Precision::kInt8, 0.99}}) {
    if (precision == Precision::kBf16 && !kernels::onednn::has_bf16()) continue;
    const Encoder encoder(family_dir(family), {.precision = precision});
    const auto outputs = test::run_in_batches(encoder, inputs);
    double worst = 1;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      worst =
          std::min(worst, test::cosine(outputs[i].embedding, golden["inputs"][i]["cls_embedding"]));
    }
    EXPECT_GE(worst, bound) << family << " at " << to_string(precision);
    std::printf("%s at %s: first-row cosine with transformers' fp32 >= %.6f over %zu inputs\n",
                family.c_str(), to_string(precision), worst, outputs.size());
  }
}

// The golden texts (hard cases, SST-2 dev and IMDB test) through the family's own tokenizer type;
// the other inputs are given as ids.
TEST_P(Families, TokenIdsEqualTheFamilysTokenizer) {
  const std::string family = GetParam();
  const auto golden = test::read_json(test::golden_dir() / "families" / (family + ".json"));
  const Tokenizer tokenizer = Tokenizer::from_folder(family_dir(family));
  int texts = 0;
  for (const auto& in : golden["inputs"]) {
    if (!in.contains("text")) continue;
    const auto text = in["text"].get<std::string>();
    EXPECT_EQ(tokenizer.encode(text, golden.value("max_length", 512)).ids,
              in["ids"].get<std::vector<std::int32_t>>())
        << family << ": " << text.substr(0, 80);
    ++texts;
  }
  EXPECT_GT(texts, 0);
}

TEST_P(Families, PrunedKeepsTheReferencesPositions) {
  const std::string family = GetParam();
  const auto golden = test::read_json(test::golden_dir() / "families" / (family + ".json"));
  const auto values = test::read_f32(test::golden_dir() / "families" / (family + ".f32"));
  const auto inputs = test::encodings_of(golden["inputs"]);
  // One encoder per speedup and schedule: DESIGN.md's geometric one, or the case's exponents.
  using Setting = std::pair<double, std::vector<double>>;
  std::map<Setting, std::vector<const nlohmann::json*>> by_setting;
  for (const auto& c : golden["cases"]) {
    by_setting[{c["speedup"].get<double>(), c.value("exponents", std::vector<double>{})}].push_back(
        &c);
  }
  ASSERT_GT(by_setting.size(), 3u) << "geometric cases and others";
  float hidden = 0, logits = 0, acc = 0;
  int cases = 0;
  for (const auto& [setting, list] : by_setting) {
    const auto& [speedup, exponents] = setting;
    EncoderOptions options{.speedup = speedup, .trace = true};
    if (!exponents.empty()) options.exponents = exponents;
    const Encoder encoder(family_dir(family), options);
    const auto outputs = test::run_in_batches(encoder, inputs);
    for (const nlohmann::json* cp : list) {
      const auto& c = *cp;
      const auto& out = outputs[c["input"].get<std::size_t>()];
      const std::string where = family + " input " + c["input"].dump() + " at " +
                                std::to_string(speedup) +
                                (exponents.empty() ? "" : " with keep exponents");
      EXPECT_EQ(out.run.kept, c["keep"].get<std::vector<int>>()) << where;
      ASSERT_EQ(out.run.trace.size(), c["layers"].size()) << where;
      for (std::size_t l = 0; l < out.run.trace.size(); ++l) {
        EXPECT_EQ(out.run.trace[l].positions, c["layers"][l]["kept"].get<std::vector<int>>())
            << where << ", layer " << l + 1;
        acc = std::max(acc, test::max_abs_diff(out.run.trace[l].acc,
                                               c["layers"][l]["acc"].get<std::vector<float>>()));
      }
      ASSERT_EQ(out.positions, c["positions"].get<std::vector<int>>()) << where;
      hidden = std::max(
          hidden, worst_rows(out.hidden, encoder.info().hidden, c["rows"], c["offset"], values));
      logits =
          std::max(logits, test::max_abs_diff(out.logits, c["logits"].get<std::vector<float>>()));
      ++cases;
    }
  }
  EXPECT_LE(hidden, kTolerance);
  EXPECT_LE(logits, kTolerance);
  EXPECT_LE(acc, kTolerance);
  std::printf(
      "%s pruned: %d cases, kept positions equal; max abs diff hidden %.3g, logits %.3g, "
      "ACC %.3g\n",
      family.c_str(), cases, static_cast<double>(hidden), static_cast<double>(logits),
      static_cast<double>(acc));
}

// all-mpnet-base-v2 as published (tools/fetch_model.sh all-mpnet-base-v2) against
// sentence-transformers (tools/reference/make_mpnet_golden.py): token ids equal, embeddings within
// 1e-4 (max abs difference of any value).
fs::path mpnet_dir() {
  if (const char* env = std::getenv("LAT_TEST_MPNET")) return env;
  return test::model_dir().parent_path() / "all-mpnet-base-v2";
}

#define LAT_REQUIRE_MPNET()                                           \
  do {                                                                \
    if (!fs::exists(mpnet_dir() / "model.safetensors")) {             \
      GTEST_SKIP() << "all-mpnet-base-v2 missing at " << mpnet_dir()  \
                   << "; run tools/fetch_model.sh all-mpnet-base-v2"; \
    }                                                                 \
  } while (0)

TEST(AllMpnetBaseV2, EmbeddingsMatchSentenceTransformers) {
  LAT_REQUIRE_MPNET();
  const auto golden = test::read_json(test::golden_dir() / "mpnet.json");
  const auto expected = test::read_f32(test::golden_dir() / "mpnet.f32");
  const Encoder encoder(mpnet_dir());
  EXPECT_EQ(encoder.info().model_type, "mpnet");
  std::vector<std::string> texts;
  for (const auto& in : golden["inputs"]) texts.push_back(in["text"]);
  for (std::size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(encoder.tokenize(texts[i]).ids, golden["inputs"][i]["ids"].get<std::vector<int>>())
        << texts[i];
  }
  const auto embeddings = encoder.embed(texts);
  const std::size_t d = golden["dimension"];
  ASSERT_EQ(embeddings.size(), texts.size());
  float worst = 0;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(embeddings[i].values.size(), d);
    worst =
        std::max(worst, test::max_abs_diff(embeddings[i].values,
                                           {expected.begin() + static_cast<long>(i * d),
                                            expected.begin() + static_cast<long>((i + 1) * d)}));
  }
  EXPECT_LE(worst, kTolerance);
  std::printf("all-mpnet-base-v2: max abs diff of embeddings %.3g over %zu texts\n",
              static_cast<double>(worst), texts.size());
}

TEST(AllMpnetBaseV2, TokenIdsOfEveryEvaluationText) {
  LAT_REQUIRE_MPNET();
  const Encoder encoder(mpnet_dir());
  for (const char* set : {"sst2_dev", "imdb_test"}) {
    const auto path =
        test::data_dir() / (std::string(set) == "sst2_dev" ? "sst2/dev.tsv" : "imdb/test.tsv");
    if (!fs::exists(path)) GTEST_SKIP() << "evaluation data missing at " << path;
    test::expect_token_digests(
        path, test::golden_dir() / ("mpnet_token_ids_" + std::string(set) + ".txt"),
        [&](const std::string& text) { return encoder.tokenize(text).ids; });
  }
}

// Fields only some families read are checked like the rest: each refusal names the file and field.
TEST(Families, ConfigProblemsNameTheField) {
  struct Case {
    const char* family;
    std::function<void(nlohmann::json&)> change;
    std::vector<std::string> parts;
  };
  const Case cases[] = {
      {"roberta", [](auto& j) { j["pad_token_id"] = 600; }, {"pad_token_id", "no position"}},
      {"roberta", [](auto& j) { j["pad_token_id"] = -1; }, {"pad_token_id", "-1"}},
      {"mpnet",
       [](auto& j) { j["relative_attention_num_buckets"] = 16; },
       {"relative_attention_num_buckets", "16"}},
      {"distilbert", [](auto& j) { j.erase("dim"); }, {"config.json", "dim", "missing"}},
      {"distilbert", [](auto& j) { j["n_heads"] = 5; }, {"n_heads", "does not divide", "dim"}},
      {"electra", [](auto& j) { j["embedding_size"] = 0; }, {"embedding_size"}},
      {"modernbert",
       [](auto& j) { j["num_attention_heads"] = 16; },
       {"num_attention_heads", "even"}},
      {"modernbert",
       [](auto& j) { j["classifier_pooling"] = "max"; },
       {"classifier_pooling", "max"}},
      {"modernbert",
       [](auto& j) { j["global_attn_every_n_layers"] = 0; },
       {"global_attn_every_n_layers"}},
      {"modernbert", [](auto& j) { j["global_rope_theta"] = 0.5; }, {"global_rope_theta"}},
      {"modernbert",
       [](auto& j) { j["hidden_activation"] = "swish"; },
       {"hidden_activation", "swish"}},
      {"modernbert", [](auto& j) { j["mlp_bias"] = "yes"; }, {"mlp_bias"}},
      {"modernbert", [](auto& j) { j["sentence_transformers"] = 3; }, {"sentence_transformers"}},
  };
  for (const auto& c : cases) {
    const test::TempDir dir("family-config");
    for (const auto& f : fs::directory_iterator(family_dir(c.family)))
      fs::copy_file(f.path(), dir.path() / f.path().filename());
    auto json = test::read_json(dir.path() / "config.json");
    c.change(json);
    test::write_file(dir.path() / "config.json", json.dump());
    try {
      Encoder{dir.path()};
      ADD_FAILURE() << c.family << ": no error";
    } catch (const Error& e) {
      for (const auto& p : c.parts)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << c.family << ": " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, Families,
                         ::testing::Values("roberta", "xlm-roberta", "distilbert", "electra",
                                           "mpnet", "modernbert", "modernbert-mean"),
                         [](const auto& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace lat
