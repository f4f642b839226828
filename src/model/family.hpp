#pragma once

#include <string>
#include <string_view>

namespace lat::model {

// How a family places positions: absolute embeddings counted from 0, or (RoBERTa, XLM-R, MPNet)
// from padding_idx + 1; MPNet adds a bucketed relative bias to the scores; rotary families turn
// queries and keys by their position instead of embedding it.
enum class PositionIds { kFromZero, kAfterPadding };
enum class PositionKind { kAbsolute, kRelativeBuckets, kRotary };

// Where a layer's norms sit: after each residual sum (BERT: Y = LN(X + A), Z = LN(Y + F(Y))), or
// before each sublayer (Y = X + A(LN(X)), Z = Y + F(LN(Y)), with a final norm after the layers).
enum class NormPlacement { kPost, kPre };

// The feed-forward: act(X W1) W2, or gated, (act(X W1) * (X Wg)) W2 with W1 and Wg the two halves
// of one input matrix (GeGLU).
enum class FeedForward { kPlain, kGated };

// The classification head, as the family's *ForSequenceClassification has it: a dense layer with
// an activation on the pooled row (the first row, or the mean where the config says), a norm
// where the family has one, then the output layer.
enum class HeadKind {
  kPooler,             // BERT: pooler.dense + tanh (part of the encoder), classifier
  kDenseTanh,          // RoBERTa, XLM-R, MPNet: classifier.dense + tanh, classifier.out_proj
  kPreClassifierRelu,  // DistilBERT: pre_classifier + ReLU, classifier
  kDenseGelu,          // ELECTRA: classifier.dense + GELU, classifier.out_proj
  kDenseActNorm,       // ModernBERT: head.dense + the config's activation, head.norm, classifier
};

// A family's layer structure, as data that the forward pass interprets (docs/design.md,
// "Families").
struct Structure {
  PositionIds position_ids = PositionIds::kFromZero;
  PositionKind positions = PositionKind::kAbsolute;
  NormPlacement norm = NormPlacement::kPost;
  bool norm_bias = true;    // layer norms have a bias (beta)
  bool linear_bias = true;  // the layers' products have biases (unless the config says)
  FeedForward feed_forward = FeedForward::kPlain;
  bool first_attention_norm = true;  // pre-norm: the first layer normalises its input too
  bool final_norm = false;           // a norm after the last layer
  // Attention alternates a local window with global layers where the config gives a window.
  bool local_attention = false;
  HeadKind head = HeadKind::kPooler;
  float layer_norm_eps = 1e-12f;  // where config.json gives none (BERT's; ModernBERT's is 1e-5)
};

// A family of encoders as data: how config.json names its sizes, where its tensors are, and its
// structure. Every family runs the same pruned layer (docs/design.md, "The pruned layer").
struct Family {
  std::string_view model_type;  // config.json's
  std::string_view prefix;      // of the encoder's tensors inside a task model ("bert.")

  // config.json's names for the sizes; an empty name: the family has no such key (DistilBERT's
  // layer norm epsilon is fixed at 1e-12; only ELECTRA sizes its embeddings apart).
  struct ConfigKeys {
    std::string_view hidden, layers, heads, intermediate, activation, layer_norm_eps;
    std::string_view embedding_size;
    // Rotary and local-attention families: the rotary bases of global and local layers, the
    // window and how often a layer is global.
    std::string_view rope_theta{}, local_rope_theta{}, window{}, global_every{};
    // Where the config switches biases off (and whether a head norm has one), and the head's
    // activation and pooling.
    std::string_view attention_bias{}, ffn_bias{}, norm_bias{}, head_bias{}, head_activation{},
        head_pooling{};
  } keys;

  // Tensor names under the prefix (without ".weight" / ".bias"); in those of a layer, "{}"
  // stands for the layer's index.
  // An empty name: the family has no such tensor (token types, position embeddings, the
  // embeddings' projection to the hidden size, the relative position bias that MPNet adds to the
  // scores, a final norm, a head norm). An empty key and value: query names one fused [Q K V]
  // matrix. Pre-norm families' attention_norm and output_norm are the norms before attention and
  // before the feed-forward.
  struct TensorNames {
    std::string_view word, position, token_type, embedding_norm, embedding_projection;
    std::string_view query, key, value, attention_output, attention_norm;
    std::string_view ffn_in, ffn_out, output_norm;
    std::string_view relative_bias, final_norm;
    // The head's layers: outside the prefix, but for a pooler, which is part of the encoder.
    std::string_view head_dense, head_norm, head_out;
  } tensors;

  Structure structure;
};

// The family of a config.json model_type, or null.
const Family* find_family(std::string_view model_type);

// The model types lat runs, for messages: "'bert'".
std::string family_names();

// A tensor name of the family, with the layer index in place of "{}".
std::string tensor_name(std::string_view pattern, int layer = 0);

}  // namespace lat::model
