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
  // Rotary families: the base of global layers' rotation, and of local layers'.
  float rope_theta = 0, local_rope_theta = 0;
  // Local attention: a row of a local layer attends to rows within window / 2 positions of it;
  // layer l (from 0) is global where l % global_every == 0. window -1: every layer is global.
  int window = -1;
  int global_every = 1;
  // Which products and norms have biases (the family's structure, unless the config says).
  bool attention_bias = true, ffn_bias = true, norm_bias = true, head_bias = true;
  Activation head_dense_activation = Activation::kGeluErf;  // a kDenseActNorm head's
  bool head_mean = false;           // the head reads the mean of the last rows, not the first row
  std::vector<std::string> labels;  // id2label in id order; empty when config.json has none
  // The head's activation where the folder names one (sentence-transformers' saved choice, else
  // problem_type); unset: by the number of logits (docs/design.md, "Heads").
  std::optional<HeadActivation> head_activation;

  // The longest input the position embeddings cover.
  int max_tokens() const { return max_positions - position_offset; }
  bool local(int layer) const { return window >= 0 && layer % global_every != 0; }
};

Config read_config(const std::filesystem::path& file);
// The same from parsed JSON; `where` names the file in errors.
Config parse_config(const nlohmann::json& json, const std::string& where);

}  // namespace lat::model
