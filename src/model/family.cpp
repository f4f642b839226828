#include "model/family.hpp"

#include <iterator>

namespace lat::model {
namespace {

constexpr Family kFamilies[] = {
    {.model_type = "bert",
     .prefix = "bert.",
     .keys = {.hidden = "hidden_size",
              .layers = "num_hidden_layers",
              .heads = "num_attention_heads",
              .intermediate = "intermediate_size",
              .activation = "hidden_act",
              .layer_norm_eps = "layer_norm_eps"},
     .tensors = {.word = "embeddings.word_embeddings",
                 .position = "embeddings.position_embeddings",
                 .token_type = "embeddings.token_type_embeddings",
                 .embedding_norm = "embeddings.LayerNorm",
                 .query = "encoder.layer.{}.attention.self.query",
                 .key = "encoder.layer.{}.attention.self.key",
                 .value = "encoder.layer.{}.attention.self.value",
                 .attention_output = "encoder.layer.{}.attention.output.dense",
                 .attention_norm = "encoder.layer.{}.attention.output.LayerNorm",
                 .ffn_in = "encoder.layer.{}.intermediate.dense",
                 .ffn_out = "encoder.layer.{}.output.dense",
                 .output_norm = "encoder.layer.{}.output.LayerNorm",
                 .head_dense = "pooler.dense",
                 .head_out = "classifier"},
     .positions = PositionIds::kFromZero,
     .head = HeadKind::kPooler},
};

}  // namespace

const Family* find_family(std::string_view model_type) {
  for (const Family& f : kFamilies) {
    if (f.model_type == model_type) return &f;
  }
  return nullptr;
}

std::string family_names() {
  std::string out;
  for (const Family& f : kFamilies) {
    if (!out.empty()) out.append(", ");
    out.append("'").append(f.model_type).append("'");
  }
  return out;
}

std::string tensor_name(std::string_view pattern, int layer) {
  std::string out(pattern);
  if (const auto at = out.find("{}"); at != std::string::npos) {
    out.replace(at, 2, std::to_string(layer));
  }
  return out;
}

}  // namespace lat::model
