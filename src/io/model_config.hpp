#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lat/precision.hpp"

namespace lat::io {

enum class Activation { kGeluErf, kGeluTanh, kRelu };
enum class Pooling { kCls, kMean };

// The encoder's shape and head, from config.json.
struct BertConfig {
  int vocab_size = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int intermediate = 0;
  int max_positions = 0;
  int type_vocab = 0;
  Activation activation = Activation::kGeluErf;
  float layer_norm_eps = 1e-12f;
  std::vector<std::string> labels;  // id2label in id order; empty when config.json has none
  bool multi_label = false;         // problem_type multi_label_classification: sigmoid, not softmax
};

// How a plain encoder turns its last layer into one vector (sentence-transformers folders).
struct PoolingConfig {
  Pooling mode = Pooling::kCls;
  bool normalize = false;
};

BertConfig read_bert_config(const std::filesystem::path& file);
// The same from parsed JSON; `where` names the file in errors.
BertConfig parse_bert_config(const nlohmann::json& json, const std::string& where);

// modules.json and its Pooling / Normalize modules; CLS without normalisation when absent.
PoolingConfig read_pooling_config(const std::filesystem::path& folder);

// sentence_bert_config.json's max_seq_length, when present.
std::optional<int> read_sentence_max_length(const std::filesystem::path& folder);

// What lat.json beside a model may set; each field absent when the file does not set it.
struct LatSettings {
  std::optional<double> speedup;
  std::optional<Precision> precision;
  std::optional<double> weight_flops;  // calibrated cost model (lat/schedule.hpp), at `precision`
};
// Strict: an unknown key, a key given twice or a value of the wrong kind is an error naming it.
LatSettings read_lat_settings(const std::filesystem::path& folder);

}  // namespace lat::io
