#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>


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

}  // namespace lat::io
