#pragma once

#include <string>
#include <string_view>

namespace lat::model {

// Where a family counts positions from: 0, or (RoBERTa, XLM-R, MPNet) padding_idx + 1.
enum class PositionIds { kFromZero, kAfterPadding };

// The classification head on each sequence's first row, as the family's
// *ForSequenceClassification has it: a dense layer with an activation, then the output layer.
enum class HeadKind {
  kPooler,             // BERT: pooler.dense + tanh (part of the encoder), classifier
  kDenseTanh,          // RoBERTa, XLM-R, MPNet: classifier.dense + tanh, classifier.out_proj
  kPreClassifierRelu,  // DistilBERT: pre_classifier + ReLU, classifier
  kDenseGelu,          // ELECTRA: classifier.dense + GELU, classifier.out_proj
};

// A family of encoders as data: how config.json names its sizes, where its tensors are and how
// its embeddings and head work. Every family runs the same pruned layer (docs/design.md, "The pruned layer").
struct Family {
  std::string_view model_type;  // config.json's
  std::string_view prefix;      // of the encoder's tensors inside a task model ("bert.")

  // config.json's names for the sizes; an empty name: the family has no such key (DistilBERT's
  // layer norm epsilon is fixed at 1e-12; only ELECTRA sizes its embeddings apart).
  struct ConfigKeys {
    std::string_view hidden, layers, heads, intermediate, activation, layer_norm_eps;
    std::string_view embedding_size;
  } keys;

  // Tensor names under the prefix (without ".weight" / ".bias"); in those of a layer, "{}"
  // stands for the layer's index.
  // An empty name: the family has no such tensor (token types, the embeddings' projection to
  // the hidden size, the relative position bias that MPNet adds to the scores).
  struct TensorNames {
    std::string_view word, position, token_type, embedding_norm, embedding_projection;
    std::string_view query, key, value, attention_output, attention_norm;
    std::string_view ffn_in, ffn_out, output_norm;
    std::string_view relative_bias;
    // The head's two layers: outside the prefix, but for a pooler, which is part of the encoder.
    std::string_view head_dense, head_out;
  } tensors;

  PositionIds positions = PositionIds::kFromZero;
  HeadKind head = HeadKind::kPooler;
};

// The family of a config.json model_type, or null.
const Family* find_family(std::string_view model_type);

// The model types lat runs, for messages: "'bert'".
std::string family_names();

// A tensor name of the family, with the layer index in place of "{}".
std::string tensor_name(std::string_view pattern, int layer = 0);

}  // namespace lat::model
