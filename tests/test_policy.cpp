// The schedule policy chosen per call, and lat.json, its one reader and writer.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "lat/encoder.hpp"
#include "lat/error.hpp"
#include "lat/settings.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

namespace fs = std::filesystem;

// A copy of a model folder, so that a test can put a lat.json beside it.
void copy_folder(const fs::path& from, const test::TempDir& to) {
  for (const auto& f : fs::directory_iterator(from)) {
    if (f.is_regular_file()) fs::copy_file(f.path(), to.path() / f.path().filename());
  }
}

template <typename F>
void expect_error(F&& f, std::initializer_list<const char*> parts) {
  try {
    f();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    for (const char* part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << e.what() << " lacks '" << part << "'";
  }
}

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t{
      "a gorgeous, witty, seductive movie that stays with you long after the credits roll",
      "the plot makes no sense and the jokes fall flat, one after another, for two long hours",
      "it is dull", "",
      "an utterly charming and hilarious film that reminded me why I love going to the movies, "
      "with a cast that plays every scene for all it is worth and a story that never drags"};
  return t;
}

// On one encoder, a call under policy(s) equals, bit for bit, a fresh encoder built with s.
void expect_calls_equal_fresh_encoders(const fs::path& folder, Precision precision) {
  const Encoder shared(folder, {.precision = precision});
  for (double s : {1.0, 1.5, 2.0, 3.0, 4.0}) {
    SCOPED_TRACE("speedup " + std::to_string(s) + " " + to_string(precision));
    const Encoder fresh(folder, {.speedup = s, .precision = precision});
    const Policy policy = shared.policy(s);
    EXPECT_EQ(policy, fresh.policy());
    const auto a = shared.embed(texts(), policy), b = fresh.embed(texts());
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].values, b[i].values);
      EXPECT_EQ(a[i].run.kept, b[i].run.kept);
      EXPECT_EQ(a[i].run.speedup, s);
    }
    if (shared.info().classifier) {
      const auto c = shared.classify(texts(), policy), d = fresh.classify(texts());
      for (std::size_t i = 0; i < c.size(); ++i) {
        EXPECT_EQ(c[i].logits, d[i].logits);
        EXPECT_EQ(c[i].label, d[i].label);
      }
    }
  }
}

TEST(Policy, ACallAtSpeedupSEqualsAnEncoderBuiltWithIt) {
  LAT_REQUIRE_MODEL();
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    expect_calls_equal_fresh_encoders(test::model_dir(), p);
  }
}

TEST(Policy, ACallOnAClassifierWithATunedCurveEqualsAnEncoderBuiltWithIt) {
  const test::TempDir dir("policy-curve");
  copy_folder(test::golden_dir() / "tiny-bert", dir);
  // A curve with searched exponents at 2 and 4: 1.5 and 3 fall between points.
  test::write_file(dir.path() / "lat.json", R"({"version": 1, "speedup": 2, "floor": 0.05,
    "curve": [{"speedup": 1, "accuracy": 90},
              {"speedup": 2, "exponents": [0, 1, 1.5, 3, 5], "accuracy": 89},
              {"speedup": 4, "exponents": [0.5, 1, 2, 2, 2.5], "accuracy": 85}]})");
  for (Precision p : {Precision::kFp32, Precision::kInt8}) {
    expect_calls_equal_fresh_encoders(dir.path(), p);
  }
  const Encoder encoder(dir.path());
  EXPECT_EQ(encoder.policy().exponents(), (std::vector<double>{0, 1, 1.5, 3, 5}));
  EXPECT_EQ(encoder.policy(4.0).exponents(), (std::vector<double>{0.5, 1, 2, 2, 2.5}));
  EXPECT_EQ(encoder.policy(6.0).exponents(), (std::vector<double>{0.5, 1, 2, 2, 2.5}));
  // Halfway between 2 and 4, each point scaled to end at 5 layers: [0, 1, 1.5, 3, 5] and
  // [1, 2, 4, 4, 5].
  const auto w = encoder.policy(3.0).exponents();
  const std::vector<double> expected{0.5, 1.5, 2.75, 3.5, 5};
  ASSERT_EQ(w.size(), expected.size());
  for (std::size_t l = 0; l < w.size(); ++l) EXPECT_NEAR(w[l], expected[l], 1e-12);
  // Between the geometric point at 1 and the searched one at 2.
  const auto v = encoder.policy(1.5).exponents();
  const std::vector<double> mid{0.5, 1.5, 2.25, 3.5, 5};
  for (std::size_t l = 0; l < v.size(); ++l) EXPECT_NEAR(v[l], mid[l], 1e-12);
  EXPECT_EQ(encoder.policy(3.0).floor(), 0.05);
  // Explicit exponents win over the curve's.
  EXPECT_EQ(encoder.policy(3.0, std::vector<double>{1, 2, 3, 4, 5}).exponents(),
            (std::vector<double>{1, 2, 3, 4, 5}));
}

TEST(Policy, ValuesAreCheckedWhereTheyAreMade) {
  expect_error([] { Policy(0.5); }, {"speedup 0.5 must be a finite number >= 1"});
  expect_error([] { Policy(std::numeric_limits<double>::infinity()); }, {"speedup inf"});
  expect_error([] { Policy(2, {1, 0.5}); }, {"exponents must be finite", "value 2 is 0.5"});
  expect_error([] { Policy(2, {}, 1.0); }, {"floor 1 must lie in [0, 1)"});
  expect_error([] { Policy(2, {}, 0, CostModel{-1}); }, {"weight_flops -1"});
  expect_error([] { Policy(2, {}, 0, CostModel{0, 1, -1}); }, {"attention_flops -1"});
  expect_error([] { Policy(2, {}, 0, CostModel{.input_flops = -1}); }, {"input_flops -1"});
  const Encoder encoder(test::golden_dir() / "tiny-bert");
  expect_error([&] { encoder.policy(1e6); }, {"policy", "speedup 1e+06 is out of reach"});
  expect_error(
      [&] {
        encoder.policy(2.0, std::vector<double>{1, 2});
      },
      {"policy", "exponents give 2 values for a model of 5 layers"});
  // A policy made elsewhere is checked against the model at the call.
  expect_error(
      [&] {
        encoder.embed(texts(), Policy(2, {1, 2}));
      },
      {"exponents give 2 values for a model of 5 layers"});
  EXPECT_EQ(to_string(Policy(2, {0, 1}, 0.05, {40})),
            "speedup 2, exponents [0, 1], floor 0.05, weight_flops 40");
}

TEST(Policy, TheEncodersOwnPolicyAppliesWithoutOne) {
  const Encoder encoder(test::golden_dir() / "tiny-bert", {.speedup = 3.0, .floor = 0.1});
  const auto own = encoder.embed(texts());
  const auto given = encoder.embed(texts(), encoder.policy());
  for (std::size_t i = 0; i < own.size(); ++i) {
    EXPECT_EQ(own[i].values, given[i].values);
    EXPECT_EQ(own[i].run.speedup, 3.0);
  }
  // A call may change the speedup alone: the options' floor stays.
  EXPECT_EQ(encoder.policy(2.0).floor(), 0.1);
  EXPECT_EQ(encoder.policy(std::nullopt).speedup(), 3.0);
  const auto dense = encoder.embed(texts(), Policy{});
  EXPECT_EQ(dense[0].run.kept.back(), dense[0].run.tokens);
}

TEST(Settings, WriteThenReadGivesTheSameSettings) {
  const test::TempDir dir("settings");
  Settings s;
  s.speedup = 2.5;
  s.precision = Precision::kInt8;
  s.weight_flops = 41.5;
  s.attention_flops = 900;
  s.input_flops = 3e6;
  s.exponents = {0, 1, 2};
  s.floor = 0.05;
  s.curve = {{.speedup = 1, .accuracy = 90.5, .inputs = 10},
             {.speedup = 2.5,
              .exponents = {0, 1, 2},
              .accuracy = 90.0,
              .predicted_speedup = 2.51,
              .measured_speedup = 2.2,
              .reached = 9,
              .inputs = 10},
             {.speedup = 3,
              .mean_cosine = 0.97,
              .p5_cosine = 0.9,
              .recall_at_10 = 0.93,
              .predicted_speedup = 3.01,
              .measured_speedup = 2.6,
              .reached = 10,
              .inputs = 10}};
  s.tuning = TuningRecord{.tuned_on = "holdout.tsv", .budget_points = 1, .dense_accuracy = 90.5};
  const ActivationRange range{-1.5, 2.25, {3, 0}, {0.5f, 2.f, 1.f, 0.25f}};
  s.int8_ranges = Int8Ranges{
      .calibrated_on = "train.tsv", .texts = 7, .layers = {{range, range, range, range}}};
  write_settings(dir.path() / "lat.json", s);
  const Settings r = read_settings(dir.path() / "lat.json");
  EXPECT_EQ(r.speedup, s.speedup);
  EXPECT_EQ(r.precision, s.precision);
  EXPECT_EQ(r.weight_flops, s.weight_flops);
  EXPECT_EQ(r.attention_flops, s.attention_flops);
  EXPECT_EQ(r.input_flops, s.input_flops);
  EXPECT_EQ(r.cost(), (CostModel{41.5, 1, 900, 3e6}));
  EXPECT_EQ(r.exponents, s.exponents);
  EXPECT_EQ(r.floor, s.floor);
  ASSERT_EQ(r.curve.size(), 3u);
  EXPECT_EQ(r.curve[1].exponents, s.curve[1].exponents);
  EXPECT_EQ(r.curve[1].measured_speedup, 2.2);
  EXPECT_EQ(r.curve[2].recall_at_10, 0.93);
  EXPECT_FALSE(r.curve[2].accuracy);
  ASSERT_TRUE(r.tuning);
  EXPECT_EQ(r.tuning->tuned_on, "holdout.tsv");
  ASSERT_TRUE(r.int8_ranges);
  EXPECT_EQ(r.int8_ranges->calibrated_on, "train.tsv");
  EXPECT_EQ(r.int8_ranges->texts, 7);
  ASSERT_EQ(r.int8_ranges->layers.size(), 1u);
  EXPECT_EQ(r.int8_ranges->layers[0].ffn_out.lo, -1.5);
  EXPECT_EQ(r.int8_ranges->layers[0].ffn_out.hi, 2.25);
  EXPECT_EQ(r.int8_ranges->layers[0].qkv.outliers, range.outliers);
  EXPECT_EQ(r.int8_ranges->layers[0].output.smooth, range.smooth);
  EXPECT_NE(test::read_file(dir.path() / "lat.json").find("\"version\": 1"), std::string::npos);
}

TEST(Settings, TheReaderIsStrict) {
  const test::TempDir dir("settings-strict");
  const fs::path file = dir.path() / "lat.json";
  const auto refused = [&](const std::string& json, std::initializer_list<const char*> parts) {
    test::write_file(file, json);
    expect_error([&] { read_settings(file); }, parts);
  };
  refused(R"({"version": 2})", {"lat.json", "version", "is 2"});
  refused(R"({"curve": [{"speedup": 2, "acuracy": 3}]})", {"curve[0]", "unknown key 'acuracy'"});
  refused(R"({"curve": [{"speedup": 2}, {"speedup": 2}]})", {"curve[1]", "each given once"});
  refused(R"({"curve": [{"exponents": [1]}]})", {"curve[0]", "'speedup' is missing"});
  refused(R"({"curve": [{"speedup": 0.5}]})", {"curve[0]", "speedup 0.5"});
  refused(R"({"curve": {"speedup": 2}})", {"'curve' must be an array"});
  refused(R"({"search": {"seconds": 3, "sead": 1}})", {"search", "unknown key 'sead'"});
  refused(R"({"exponents": [2, 1]})", {"lat.json", "exponents must be finite"});
  const std::string range = R"({"lo": -1, "hi": 1, "outliers": [], "smooth": []})";
  const auto layer = [&](const std::string& qkv) {
    return R"({"int8_static": {"layers": [{"qkv": )" + qkv + R"(, "output": )" + range +
           R"(, "ffn_in": )" + range + R"(, "ffn_out": )" + range + "}]}}";
  };
  refused(layer(R"({"lo": 1, "hi": 2})"), {"int8_static: layers[0]: qkv", "lo <= 0 <= hi"});
  refused(layer(R"({"lo": -1, "hi": 2, "outliers": [1, 1]})"), {"qkv", "outlier column twice"});
  refused(layer(R"({"lo": -1, "hi": 2, "outliers": [0.5]})"), {"qkv", "'outliers'"});
  refused(layer(R"({"lo": -1, "hi": 2, "smooth": [0]})"), {"qkv", "outside [1e-6, 1e6]"});
  refused(layer(R"({"lo": 0, "hi": 0})"), {"qkv", "hi - lo in [1e-20, 1e20]"});
  refused(layer("3"), {"layers[0]", "'qkv' must be an object"});
  refused(R"({"int8_static": {"layers": [3]}})", {"int8_static", "one object per layer"});
  refused(layer(R"({"lo": -1})"), {"layers[0]: qkv", "'hi' is missing"});
  refused(R"({"int8_static": {"layers": [{"qkv": {}}]}})", {"layers[0]", "'lo' is missing"});
  refused(R"({"int8_static": {"layers": {}}})", {"int8_static", "'layers' must be an array"});
  // Curve exponents must fit the model, checked when an encoder reads the file.
  const test::TempDir model("settings-model");
  copy_folder(test::golden_dir() / "tiny-bert", model);
  test::write_file(model.path() / "lat.json", R"({"curve": [{"speedup": 2, "exponents": [1]}]})");
  expect_error([&] { Encoder{model.path()}; }, {"curve[0]", "exponents give 1 values"});
  // int8-static needs ranges that fit the model.
  test::write_file(model.path() / "lat.json", R"({"precision": "int8-static"})");
  expect_error([&] { Encoder{model.path()}; },
               {"lat.json", "'int8_static' is missing", "lat_tune --precision int8-static"});
  test::write_file(model.path() / "lat.json",
                   R"({"precision": "int8-static", "int8_static": )" + layer(range).substr(16));
  expect_error([&] { Encoder{model.path()}; }, {"lat.json", "'layers' holds 1 layers"});
  std::string layers;
  const std::string wide = R"({"lo": -1, "hi": 1, "outliers": [48]})";
  for (int l = 0; l < 5; ++l) {
    layers +=
        (l ? ", " : "") + (R"({"qkv": )" + (l == 3 ? wide : range) + R"(, "output": )" + range +
                           R"(, "ffn_in": )" + range + R"(, "ffn_out": )" + range + "}");
  }
  test::write_file(model.path() / "lat.json",
                   R"({"precision": "int8-static", "int8_static": {"layers": [)" + layers + "]}}");
  expect_error([&] { Encoder{model.path()}; },
               {"lat.json", "layers[3]: qkv: outlier column 48 is outside the input's 48 columns"});
}

TEST(Settings, ExponentsForASpeedupFollowTheCurve) {
  Settings s;
  EXPECT_TRUE(exponents_for(s, 2.0, 3).empty());
  s.exponents = {0, 1, 1};
  EXPECT_EQ(exponents_for(s, 2.0, 3), s.exponents);  // no curve: the top-level exponents
  s.curve = {{.speedup = 1}, {.speedup = 2}, {.speedup = 3, .exponents = {0, 0, 6}}};
  EXPECT_TRUE(exponents_for(s, 1.5, 3).empty());  // geometric on both sides
  EXPECT_TRUE(exponents_for(s, 2.0, 3).empty());
  EXPECT_EQ(exponents_for(s, 3.0, 3), (std::vector<double>{0, 0, 6}));
  EXPECT_EQ(exponents_for(s, 9.0, 3), (std::vector<double>{0, 0, 6}));
  // 2.5: halfway between [1, 2, 3] and [0, 0, 3] (scaled to end at 3 layers).
  EXPECT_EQ(exponents_for(s, 2.5, 3), (std::vector<double>{0.5, 1, 3}));
}

}  // namespace
}  // namespace lat
