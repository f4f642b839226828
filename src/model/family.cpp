#include "model/family.hpp"

#include <iterator>

namespace lat::model {
namespace {

constexpr Family::ConfigKeys kBertKeys{.hidden = "hidden_size",
                                       .layers = "num_hidden_layers",
                                       .heads = "num_attention_heads",
                                       .intermediate = "intermediate_size",
                                       .activation = "hidden_act",
                                       .layer_norm_eps = "layer_norm_eps",
                                       .embedding_size = ""};

// BERT's tensor names, which RoBERTa, XLM-R and ELECTRA share.
constexpr Family::TensorNames kBertTensors{
    .word = "embeddings.word_embeddings",
    .position = "embeddings.position_embeddings",
    .token_type = "embeddings.token_type_embeddings",
    .embedding_norm = "embeddings.LayerNorm",
    .embedding_projection = "",
    .query = "encoder.layer.{}.attention.self.query",
    .key = "encoder.layer.{}.attention.self.key",
    .value = "encoder.layer.{}.attention.self.value",
    .attention_output = "encoder.layer.{}.attention.output.dense",
    .attention_norm = "encoder.layer.{}.attention.output.LayerNorm",
    .ffn_in = "encoder.layer.{}.intermediate.dense",
    .ffn_out = "encoder.layer.{}.output.dense",
    .output_norm = "encoder.layer.{}.output.LayerNorm",
    .relative_bias = "",
    .final_norm = "",
    .head_dense = "pooler.dense",
    .head_norm = "",
    .head_out = "classifier"};

constexpr Family::TensorNames with_head(Family::TensorNames t, std::string_view dense,
                                        std::string_view out) {
  t.head_dense = dense;
  t.head_out = out;
  return t;
}

constexpr Family::TensorNames kRobertaTensors =
    with_head(kBertTensors, "classifier.dense", "classifier.out_proj");

constexpr Family::TensorNames kElectraTensors = [] {
  Family::TensorNames t = with_head(kBertTensors, "classifier.dense", "classifier.out_proj");
  t.embedding_projection = "embeddings_project";
  return t;
}();

constexpr Structure kRobertaStructure{.position_ids = PositionIds::kAfterPadding,
                                      .head = HeadKind::kDenseTanh};

constexpr Family kFamilies[] = {
    {.model_type = "bert",
     .prefix = "bert.",
     .keys = kBertKeys,
     .tensors = kBertTensors,
     .structure = {.head = HeadKind::kPooler}},
    {.model_type = "roberta",
     .prefix = "roberta.",
     .keys = kBertKeys,
     .tensors = kRobertaTensors,
     .structure = kRobertaStructure},
    {.model_type = "xlm-roberta",
     .prefix = "roberta.",
     .keys = kBertKeys,
     .tensors = kRobertaTensors,
     .structure = kRobertaStructure},
    {.model_type = "distilbert",
     .prefix = "distilbert.",
     .keys = {.hidden = "dim",
              .layers = "n_layers",
              .heads = "n_heads",
              .intermediate = "hidden_dim",
              .activation = "activation",
              .layer_norm_eps = "",
              .embedding_size = ""},
     .tensors = {.word = "embeddings.word_embeddings",
                 .position = "embeddings.position_embeddings",
                 .token_type = "",
                 .embedding_norm = "embeddings.LayerNorm",
                 .embedding_projection = "",
                 .query = "transformer.layer.{}.attention.q_lin",
                 .key = "transformer.layer.{}.attention.k_lin",
                 .value = "transformer.layer.{}.attention.v_lin",
                 .attention_output = "transformer.layer.{}.attention.out_lin",
                 .attention_norm = "transformer.layer.{}.sa_layer_norm",
                 .ffn_in = "transformer.layer.{}.ffn.lin1",
                 .ffn_out = "transformer.layer.{}.ffn.lin2",
                 .output_norm = "transformer.layer.{}.output_layer_norm",
                 .relative_bias = "",
                 .final_norm = "",
                 .head_dense = "pre_classifier",
                 .head_norm = "",
                 .head_out = "classifier"},
     .structure = {.head = HeadKind::kPreClassifierRelu}},
    {.model_type = "electra",
     .prefix = "electra.",
     .keys =
         [] {
           Family::ConfigKeys k = kBertKeys;
           k.embedding_size = "embedding_size";
           return k;
         }(),
     .tensors = kElectraTensors,
     .structure = {.head = HeadKind::kDenseGelu}},
    {.model_type = "mpnet",
     .prefix = "mpnet.",
     .keys = kBertKeys,
     .tensors = {.word = "embeddings.word_embeddings",
                 .position = "embeddings.position_embeddings",
                 .token_type = "",
                 .embedding_norm = "embeddings.LayerNorm",
                 .embedding_projection = "",
                 .query = "encoder.layer.{}.attention.attn.q",
                 .key = "encoder.layer.{}.attention.attn.k",
                 .value = "encoder.layer.{}.attention.attn.v",
                 .attention_output = "encoder.layer.{}.attention.attn.o",
                 .attention_norm = "encoder.layer.{}.attention.LayerNorm",
                 .ffn_in = "encoder.layer.{}.intermediate.dense",
                 .ffn_out = "encoder.layer.{}.output.dense",
                 .output_norm = "encoder.layer.{}.output.LayerNorm",
                 .relative_bias = "encoder.relative_attention_bias",
                 .final_norm = "",
                 .head_dense = "classifier.dense",
                 .head_norm = "",
                 .head_out = "classifier.out_proj"},
     .structure = {.position_ids = PositionIds::kAfterPadding,
                   .positions = PositionKind::kRelativeBuckets,
                   .head = HeadKind::kDenseTanh}},
    {.model_type = "modernbert",
     .prefix = "model.",
     .keys = {.hidden = "hidden_size",
              .layers = "num_hidden_layers",
              .heads = "num_attention_heads",
              .intermediate = "intermediate_size",
              .activation = "hidden_activation",
              .layer_norm_eps = "norm_eps",
              .embedding_size = "",
              .rope_theta = "global_rope_theta",
              .local_rope_theta = "local_rope_theta",
              .window = "local_attention",
              .global_every = "global_attn_every_n_layers",
              .attention_bias = "attention_bias",
              .ffn_bias = "mlp_bias",
              .norm_bias = "norm_bias",
              .head_bias = "classifier_bias",
              .head_activation = "classifier_activation",
              .head_pooling = "classifier_pooling"},
     .tensors = {.word = "embeddings.tok_embeddings",
                 .position = "",
                 .token_type = "",
                 .embedding_norm = "embeddings.norm",
                 .embedding_projection = "",
                 .query = "layers.{}.attn.Wqkv",
                 .key = "",
                 .value = "",
                 .attention_output = "layers.{}.attn.Wo",
                 .attention_norm = "layers.{}.attn_norm",
                 .ffn_in = "layers.{}.mlp.Wi",
                 .ffn_out = "layers.{}.mlp.Wo",
                 .output_norm = "layers.{}.mlp_norm",
                 .relative_bias = "",
                 .final_norm = "final_norm",
                 .head_dense = "head.dense",
                 .head_norm = "head.norm",
                 .head_out = "classifier"},
     .structure = {.positions = PositionKind::kRotary,
                   .norm = NormPlacement::kPre,
                   .norm_bias = false,
                   .linear_bias = false,
                   .feed_forward = FeedForward::kGated,
                   .first_attention_norm = false,
                   .final_norm = true,
                   .local_attention = true,
                   .head = HeadKind::kDenseActNorm,
                   .layer_norm_eps = 1e-5f}},
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
