#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lat/export.hpp"
#include "lat/policy.hpp"
#include "lat/precision.hpp"

namespace lat {

// One speedup offline tuning evaluated (docs/design.md, "lat.json").
struct TunedPoint {
  double speedup = 1.0;
  std::vector<double> exponents;  // the schedule's keep exponents; empty: geometric
  // The quality on the tuning rows: a classifier's accuracy (%), or, for an embedding model, the
  // agreement of its embeddings with the dense ones (mean and 5th-percentile cosine, and the
  // recall@10 of a nearest-neighbour search among the texts, as a fraction).
  std::optional<double> accuracy;
  std::optional<double> mean_cosine, p5_cosine, recall_at_10;
  double predicted_speedup = 1.0;  // under the cost model, weighted over the rows
  double measured_speedup = 1.0;   // wall time of the rows at speedup 1 / at this one
  int reached = 0;                 // inputs whose schedule reached the speedup
  int inputs = 0;                  // inputs evaluated
};

// How offline tuning chose the settings: a record for people, which the encoder does not read.
struct TuningRecord {
  std::string tuned_on;                  // the rows it was tuned on
  std::optional<double> budget_points;   // accuracy (or recall@10) it could give up, in points
  std::optional<double> dense_accuracy;  // a classifier's accuracy at speedup 1
  std::optional<double> search_seconds;
  std::optional<int> search_evaluations;
  std::optional<double> search_significance;
  std::optional<int> search_seed;
  std::string schedules;  // the file whose exponents were evaluated, when given
};

// int8-static's code for one product's input (docs/design.md, "int8-static"): column j is
// divided by smooth[j], whose product the weights of column j take on instead; then every column
// but the outliers is quantized over [lo, hi] in 255 steps, a value outside it saturating at the
// nearer end; the outlier columns, those calibration found far beyond the rest, pass exactly.
struct ActivationRange {
  double lo = 0, hi = 0;      // lo <= 0 <= hi, hi - lo in [1e-20, 1e20], of the divided values
  std::vector<int> outliers;  // at most 4 distinct columns
  std::vector<float> smooth;  // one value in [1e-6, 1e6] per column; empty: all 1
};

// The inputs of one layer's four products.
struct LayerRanges {
  ActivationRange qkv, output, ffn_in, ffn_out;

  // The four by index, in the order above, with the names lat.json gives them.
  static constexpr const char* kNames[] = {"qkv", "output", "ffn_in", "ffn_out"};
  const ActivationRange& at(int product) const {
    return product == 0 ? qkv : product == 1 ? output : product == 2 ? ffn_in : ffn_out;
  }
  ActivationRange& at(int product) {
    return const_cast<ActivationRange&>(static_cast<const LayerRanges&>(*this).at(product));
  }
};

// The activation ranges int8-static runs with, calibrated offline (Encoder::calibrate_ranges),
// one LayerRanges per layer.
struct Int8Ranges {
  std::string calibrated_on;  // what the texts were, a record
  int texts = 0;              // how many
  std::vector<LayerRanges> layers;
};

// lat.json beside a model: the knob, its precision and cost model, the schedule, the tuned
// curve, and int8-static's activation ranges. Every field is optional; an encoder built without
// options takes what is set.
struct Settings {
  static constexpr int kVersion = 1;
  std::optional<double> speedup;
  std::optional<Precision> precision;
  std::optional<double> weight_flops;     // calibrated cost model, measured at `precision`
  std::optional<double> attention_flops;  // its attention term (lat/schedule.hpp)
  std::optional<double> input_flops;      // its per-input term (lat/schedule.hpp)
  std::vector<double> exponents;          // the knob's keep exponents; empty: not set
  std::optional<double> floor;            // row floor
  std::vector<TunedPoint> curve;          // by increasing speedup
  std::optional<TuningRecord> tuning;
  std::optional<Int8Ranges> int8_ranges;  // "int8_static": what precision int8-static needs

  // The cost model the fields above set, for one input; terms not set are 0 (none: the FLOP
  // count).
  LAT_EXPORT CostModel cost() const;
};

// Reads a lat.json. Strict: an unknown key, a key given twice, a value of the wrong kind or out
// of range, a curve with one speedup twice, or a version newer than this library's is an error
// (lat::Error) naming the file and the field. A file without "version" is version 1.
LAT_EXPORT Settings read_settings(const std::filesystem::path& file);

// Writes `settings` as lat.json (with the version), after the checks read_settings makes.
LAT_EXPORT void write_settings(const std::filesystem::path& file, const Settings& settings);

// The keep exponents for `speedup` under these settings (docs/design.md): those of the curve's
// point at that speedup; between two points, interpolated linearly in the speedup between their
// exponents, each scaled to end at `layers`; beyond the curve, its nearest end's; without a
// curve, the top-level exponents. Empty: geometric.
LAT_EXPORT std::vector<double> exponents_for(const Settings& settings, double speedup, int layers);

}  // namespace lat
