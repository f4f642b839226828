#pragma once

#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lat/head.hpp"
#include "model/family.hpp"

namespace lat::model {

enum class Activation { kGeluErf, kGeluTanh, kRelu };

// An encoder's family, shape and head, from config.json.
struct Config {
  const Family* family = nullptr;
  int vocab_size = 0;
  int hidden = 0;
  int layers = 0;
  int heads = 0;
  int intermediate = 0;
  int max_positions = 0;
  int type_vocab = 0;        // 0 where the family has no token types
  int embedding_size = 0;    // of the embeddings, projected to `hidden` where they differ
  int position_offset = 0;   // the first token's position: padding_idx + 1 where the family says
  int padding_idx = -1;      // those families' padding token id, whose position is padding_idx
  int relative_buckets = 0;  // MPNet's relative position buckets; 0 for the rest
  Activation activation = Activation::kGeluErf;
  float layer_norm_eps = 1e-12f;
  std::vector<std::string> labels;  // id2label in id order; empty when config.json has none
  // The head's activation where the folder names one (sentence-transformers' saved choice, else
  // problem_type); unset: by the number of logits (docs/design.md, "Heads").
  std::optional<HeadActivation> head_activation;

  // The longest input the position embeddings cover.
  int max_tokens() const { return max_positions - position_offset; }
};

Config read_config(const std::filesystem::path& file);
// The same from parsed JSON; `where` names the file in errors.
Config parse_config(const nlohmann::json& json, const std::string& where);

}  // namespace lat::model
