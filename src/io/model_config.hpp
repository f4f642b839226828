#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lat/precision.hpp"

namespace lat::io {

enum class Pooling { kCls, kMean };

// How a plain encoder turns its last layer into one vector (sentence-transformers folders).
struct PoolingConfig {
  Pooling mode = Pooling::kCls;
  bool normalize = false;
};

// modules.json and its Pooling / Normalize modules; CLS without normalisation when absent.
PoolingConfig read_pooling_config(const std::filesystem::path& folder);

// sentence_bert_config.json's max_seq_length, when present.
std::optional<int> read_sentence_max_length(const std::filesystem::path& folder);

// What lat.json beside a model may set; each field absent when the file does not set it.
struct LatSettings {
  std::optional<double> speedup;
  std::optional<Precision> precision;
  std::optional<double> weight_flops;  // calibrated cost model (lat/schedule.hpp), at `precision`
  std::vector<double> exponents;       // the schedule's keep exponents; empty when not set
  std::optional<double> floor;         // the schedule's row floor (lat/schedule.hpp)
};
// Strict: an unknown key, a key given twice or a value of the wrong kind is an error naming it.
LatSettings read_lat_settings(const std::filesystem::path& folder);

}  // namespace lat::io
