// lat.json: the one reader and writer (docs/design.md, "lat.json").
#include "lat/settings.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/json_file.hpp"
#include "lat/error.hpp"
#include "policy_checks.hpp"

namespace lat {
namespace fs = std::filesystem;

namespace {

constexpr auto kSettingsKeys =
    "lat.json sets version, speedup, precision, weight_flops, attention_flops, input_flops, "
    "exponents, floor, curve and int8_static, and keeps tuned_on, budget_points, dense_accuracy "
    "and search as a record";

constexpr const auto& kProducts = LayerRanges::kNames;

std::string range_problem(const ActivationRange& r) {
  if (!(std::isfinite(r.lo) && std::isfinite(r.hi) && r.lo <= 0 && r.hi >= 0)) {
    return "lo and hi must be finite with lo <= 0 <= hi";
  }
  // The step (hi - lo) / 255 and the values it codes must stay normal floats.
  if (!(r.hi - r.lo >= 1e-20 && r.hi - r.lo <= 1e20)) return "must have hi - lo in [1e-20, 1e20]";
  if (r.outliers.size() > 4) return "has more than 4 outlier columns";
  for (float v : r.smooth) {
    if (!(v >= 1e-6f && v <= 1e6f)) return "has a smooth value outside [1e-6, 1e6]";
  }
  for (std::size_t i = 0; i < r.outliers.size(); ++i) {
    if (r.outliers[i] < 0) return "has a negative outlier column";
    if (std::find(r.outliers.begin(), r.outliers.begin() + static_cast<std::ptrdiff_t>(i),
                  r.outliers[i]) != r.outliers.begin() + static_cast<std::ptrdiff_t>(i)) {
      return "names an outlier column twice";
    }
  }
  return "";
}

Int8Ranges read_ranges(const nlohmann::json& json, const std::string& where) {
  const io::JsonFields f(json, where);
  f.only({"calibrated_on", "texts", "layers"}, "int8_static has calibrated_on, texts and layers");
  Int8Ranges r;
  r.calibrated_on = f.string("calibrated_on").value_or("");
  const long long texts = f.integer("texts").value_or(0);
  if (texts < 0 || texts > 1 << 30) f.fail("texts", "must lie in [0, 2^30]");
  r.texts = static_cast<int>(texts);
  if (!f.has("layers") || !json.at("layers").is_array()) {
    f.fail("layers", "must be an array with one object per layer");
  }
  const auto& layers = json.at("layers");
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const std::string at = where + ": layers[" + std::to_string(l) + "]";
    if (!layers[l].is_object()) f.fail("layers", "must hold one object per layer");
    const io::JsonFields layer(layers[l], at);
    layer.only({"qkv", "output", "ffn_in", "ffn_out"},
               "a layer has the ranges of qkv, output, ffn_in and ffn_out");
    LayerRanges ranges;
    for (int p = 0; p < 4; ++p) {
      if (!layer.has(kProducts[p])) layer.fail(kProducts[p], "is missing");
      if (!layers[l].at(kProducts[p]).is_object()) {
        layer.fail(kProducts[p], "must be an object: lo, hi, outliers, smooth");
      }
      const io::JsonFields range(layers[l].at(kProducts[p]), at + ": " + kProducts[p]);
      range.only({"lo", "hi", "outliers", "smooth"}, "a range has lo, hi, outliers and smooth");
      ActivationRange& out = ranges.at(p);
      const auto lo = range.number("lo"), hi = range.number("hi");
      if (!lo) range.fail("lo", "is missing");
      if (!hi) range.fail("hi", "is missing");
      out.lo = *lo;
      out.hi = *hi;
      for (double c : range.numbers("outliers").value_or(std::vector<double>{})) {
        if (c != std::floor(c) || c < 0 || c > 1 << 20) {
          range.fail("outliers", "must hold column numbers");
        }
        out.outliers.push_back(static_cast<int>(c));
      }
      for (double v : range.numbers("smooth").value_or(std::vector<double>{})) {
        out.smooth.push_back(static_cast<float>(v));
      }
    }
    r.layers.push_back(std::move(ranges));
  }
  return r;
}

TunedPoint read_point(const nlohmann::json& json, const std::string& where) {
  const io::JsonFields f(json, where);
  f.only({"speedup", "exponents", "accuracy", "mean_cosine", "p5_cosine", "recall_at_10",
          "predicted_speedup", "measured_speedup", "reached", "inputs", "geometric"},
         "a curve point has speedup, exponents, accuracy, mean_cosine, p5_cosine, recall_at_10, "
         "predicted_speedup, measured_speedup, reached and inputs");
  TunedPoint p;
  const auto speedup = f.number("speedup");
  if (!speedup) f.fail("speedup", "is missing");
  p.speedup = *speedup;
  p.exponents = f.numbers("exponents").value_or(std::vector<double>{});
  checks::fail_if(checks::speedup_problem(p.speedup), where);
  checks::fail_if(checks::exponents_problem(p.exponents), where);
  p.accuracy = f.number("accuracy");
  p.mean_cosine = f.number("mean_cosine");
  p.p5_cosine = f.number("p5_cosine");
  p.recall_at_10 = f.number("recall_at_10");
  p.predicted_speedup = f.number("predicted_speedup").value_or(1.0);
  p.measured_speedup = f.number("measured_speedup").value_or(1.0);
  p.reached = static_cast<int>(f.integer("reached").value_or(0));
  p.inputs = static_cast<int>(f.integer("inputs").value_or(0));
  if (const auto it = json.find("geometric"); it != json.end() && !it->is_object()) {
    f.fail("geometric", "must be an object (the geometric schedule's point, a record)");
  }
  return p;
}

// The checks read_settings makes on what it read, and write_settings on what it writes.
void check(const Settings& s, const std::string& file) {
  if (s.speedup) checks::fail_if(checks::speedup_problem(*s.speedup), file);
  checks::fail_if(checks::cost_problem(s.cost()), file);
  checks::fail_if(checks::exponents_problem(s.exponents), file);
  if (s.floor) checks::fail_if(checks::floor_problem(*s.floor), file);
  for (std::size_t i = 0; i < s.curve.size(); ++i) {
    const std::string where = file + ": curve[" + std::to_string(i) + "]";
    checks::fail_if(checks::speedup_problem(s.curve[i].speedup), where);
    checks::fail_if(checks::exponents_problem(s.curve[i].exponents), where);
    if (i > 0 && !(s.curve[i - 1].speedup < s.curve[i].speedup)) {
      throw Error(ErrorCode::kConfig,
                  where + ": speedups must increase along the curve, each given once");
    }
  }
  if (s.int8_ranges) {
    for (std::size_t l = 0; l < s.int8_ranges->layers.size(); ++l) {
      for (int p = 0; p < 4; ++p) {
        const std::string problem = range_problem(s.int8_ranges->layers[l].at(p));
        if (!problem.empty()) {
          throw Error(ErrorCode::kConfig, file + ": int8_static: layers[" + std::to_string(l) +
                                              "]: " + kProducts[p] + " " + problem);
        }
      }
    }
  }
}

// Exponents on one scale, ending at `layers`; a geometric point is w_l = l.
std::vector<double> on_common_scale(const std::vector<double>& exponents, int layers) {
  std::vector<double> w(static_cast<std::size_t>(layers));
  for (int l = 0; l < layers; ++l) w[static_cast<std::size_t>(l)] = l + 1;
  if (exponents.empty()) return w;
  const double last = exponents.back();
  if (last <= 0) return exponents;
  for (std::size_t l = 0; l < exponents.size(); ++l) w[l] = exponents[l] * layers / last;
  return w;
}

}  // namespace

CostModel Settings::cost() const {
  return {.weight_flops = weight_flops.value_or(0.0),
          .batch = 1,
          .attention_flops = attention_flops.value_or(0.0),
          .input_flops = input_flops.value_or(0.0)};
}

Settings read_settings(const fs::path& file) {
  const auto json = io::read_json(file);
  const std::string name = file.string();
  const io::JsonFields f(json, name);
  f.only({"version", "speedup", "precision", "weight_flops", "attention_flops", "input_flops",
          "exponents", "floor", "curve", "int8_static", "tuned_on", "budget_points",
          "dense_accuracy", "search"},
         kSettingsKeys);
  const auto version = f.integer("version").value_or(1);
  if (version < 1 || version > Settings::kVersion) {
    f.fail("version", "is " + std::to_string(version) + "; this lat reads versions 1 to " +
                          std::to_string(Settings::kVersion));
  }
  Settings s;
  s.speedup = f.number("speedup");
  s.weight_flops = f.number("weight_flops");
  s.attention_flops = f.number("attention_flops");
  s.input_flops = f.number("input_flops");
  s.exponents = f.numbers("exponents").value_or(std::vector<double>{});
  s.floor = f.number("floor");
  if (const auto precision = f.string("precision")) {
    s.precision = precision_from_string(*precision);
    if (!s.precision) {
      f.fail("precision", "is '" + *precision + "'; lat runs " + precision_names());
    }
  }
  if (f.has("int8_static"))
    s.int8_ranges = read_ranges(json.at("int8_static"), name + ": int8_static");
  if (f.has("curve")) {
    const auto& curve = json.at("curve");
    if (!curve.is_array()) f.fail("curve", "must be an array of points");
    for (std::size_t i = 0; i < curve.size(); ++i) {
      s.curve.push_back(read_point(curve[i], name + ": curve[" + std::to_string(i) + "]"));
    }
    std::stable_sort(s.curve.begin(), s.curve.end(),
                     [](const auto& a, const auto& b) { return a.speedup < b.speedup; });
  }
  if (f.has("tuned_on") || f.has("budget_points") || f.has("dense_accuracy") || f.has("search")) {
    TuningRecord r;
    r.tuned_on = f.string("tuned_on").value_or("");
    r.budget_points = f.number("budget_points");
    r.dense_accuracy = f.number("dense_accuracy");
    if (f.has("search")) {
      const io::JsonFields search(json.at("search"), name + ": search");
      search.only({"seconds", "evaluations", "significance", "seed", "schedules"},
                  "search records seconds, evaluations, significance, seed or schedules");
      r.search_seconds = search.number("seconds");
      if (const auto v = search.integer("evaluations")) r.search_evaluations = static_cast<int>(*v);
      r.search_significance = search.number("significance");
      if (const auto v = search.integer("seed")) r.search_seed = static_cast<int>(*v);
      r.schedules = search.string("schedules").value_or("");
    }
    s.tuning = r;
  }
  check(s, name);
  return s;
}

void write_settings(const fs::path& file, const Settings& s) {
  check(s, file.string());
  nlohmann::ordered_json out;
  out["version"] = Settings::kVersion;
  if (s.speedup) out["speedup"] = *s.speedup;
  if (s.precision) out["precision"] = to_string(*s.precision);
  if (s.weight_flops) out["weight_flops"] = *s.weight_flops;
  if (s.attention_flops) out["attention_flops"] = *s.attention_flops;
  if (s.input_flops) out["input_flops"] = *s.input_flops;
  if (!s.exponents.empty()) out["exponents"] = s.exponents;
  if (s.floor) out["floor"] = *s.floor;
  if (s.tuning) {
    const TuningRecord& r = *s.tuning;
    if (!r.tuned_on.empty()) out["tuned_on"] = r.tuned_on;
    if (r.budget_points) out["budget_points"] = *r.budget_points;
    if (r.dense_accuracy) out["dense_accuracy"] = *r.dense_accuracy;
    nlohmann::ordered_json search;
    if (r.search_seconds) search["seconds"] = *r.search_seconds;
    if (r.search_evaluations) search["evaluations"] = *r.search_evaluations;
    if (r.search_significance) search["significance"] = *r.search_significance;
    if (r.search_seed) search["seed"] = *r.search_seed;
    if (!r.schedules.empty()) search["schedules"] = r.schedules;
    if (!search.empty()) out["search"] = search;
  }
  if (!s.curve.empty()) {
    auto& curve = out["curve"] = nlohmann::ordered_json::array();
    for (const TunedPoint& p : s.curve) {
      nlohmann::ordered_json j;
      j["speedup"] = p.speedup;
      if (!p.exponents.empty()) j["exponents"] = p.exponents;
      if (p.accuracy) j["accuracy"] = *p.accuracy;
      if (p.mean_cosine) j["mean_cosine"] = *p.mean_cosine;
      if (p.p5_cosine) j["p5_cosine"] = *p.p5_cosine;
      if (p.recall_at_10) j["recall_at_10"] = *p.recall_at_10;
      j["predicted_speedup"] = p.predicted_speedup;
      j["measured_speedup"] = p.measured_speedup;
      j["reached"] = p.reached;
      j["inputs"] = p.inputs;
      curve.push_back(std::move(j));
    }
  }
  if (s.int8_ranges) {
    const Int8Ranges& r = *s.int8_ranges;
    nlohmann::ordered_json ranges;
    if (!r.calibrated_on.empty()) ranges["calibrated_on"] = r.calibrated_on;
    ranges["texts"] = r.texts;
    auto& layers = ranges["layers"] = nlohmann::ordered_json::array();
    for (const LayerRanges& l : r.layers) {
      nlohmann::ordered_json layer;
      for (int p = 0; p < 4; ++p) {
        const ActivationRange& range = l.at(p);
        layer[kProducts[p]] = {{"lo", range.lo},
                               {"hi", range.hi},
                               {"outliers", range.outliers},
                               {"smooth", range.smooth}};
      }
      layers.push_back(std::move(layer));
    }
    out["int8_static"] = std::move(ranges);
  }
  std::ofstream stream(file);
  if (!(stream << out.dump(1) << "\n")) {
    throw Error(ErrorCode::kIo, file.string() + ": cannot write");
  }
}

std::vector<double> exponents_for(const Settings& s, double speedup, int layers) {
  if (s.curve.empty()) return s.exponents;
  const auto above = std::find_if(s.curve.begin(), s.curve.end(),
                                  [&](const TunedPoint& p) { return p.speedup >= speedup; });
  if (above == s.curve.end()) return s.curve.back().exponents;
  if (above->speedup == speedup || above == s.curve.begin()) return above->exponents;
  const TunedPoint& a = *(above - 1);
  const TunedPoint& b = *above;
  if (a.exponents.empty() && b.exponents.empty()) return {};
  const auto wa = on_common_scale(a.exponents, layers), wb = on_common_scale(b.exponents, layers);
  if (wa.size() != wb.size()) return b.exponents;  // a count the encoder refuses anyway
  const double t = (speedup - a.speedup) / (b.speedup - a.speedup);
  std::vector<double> w(wa.size());
  for (std::size_t l = 0; l < w.size(); ++l) w[l] = (1 - t) * wa[l] + t * wb[l];
  return w;
}

}  // namespace lat
