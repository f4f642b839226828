#pragma once

#include <optional>
#include <vector>

#include "io/safetensors.hpp"
#include "kernels/linear.hpp"
#include "lat/precision.hpp"
#include "lat/settings.hpp"
#include "model/config.hpp"

namespace lat::model {

// A layer norm's scale and shift (zeros where the family's norms have no bias); empty: no norm.
struct NormWeights {
  std::vector<float> gamma, beta;
  bool present() const { return !gamma.empty(); }
};

struct EmbeddingWeights {
  // position and token_type are empty where the family has none.
  std::vector<float> word, position, token_type;
  NormWeights norm;
  std::optional<kernels::Linear> projection;  // to the hidden size (ELECTRA), after the norm
  // MPNet: the bias added to the scores, [bucket][head], with each relative distance's bucket
  // (distance + max_positions); shared by every layer.
  std::vector<float> relative_bias;
  std::vector<std::uint8_t> distance_bucket;
};

struct LayerWeights {
  kernels::Linear qkv;     // [Q K V] = X Wqkv^T + b, one product for all three
  kernels::Linear output;  // attention output projection
  // With the activation fused; gated: the activated half and the gate in one product, whose
  // activation Loops::gated applies.
  kernels::Linear ffn_in;
  kernels::Epilogue gate_activation = kernels::Epilogue::kNone;
  kernels::Linear ffn_out;
  // Post-norm: after attention and after the feed-forward; pre-norm: before each (the first
  // layer's attention norm may be absent).
  NormWeights attention_norm, output_norm;
};

// The classification head on each sequence's pooled row (model/forward.hpp, classify_head): a
// dense layer with its activation fused (BERT's pooler among them), a norm where the family has
// one, then the output layer. It runs once per sequence: fp32 whatever the precision.
struct HeadWeights {
  std::optional<kernels::Linear> dense;
  NormWeights norm;                    // after the dense layer, where the family has one
  std::optional<kernels::Linear> out;  // the labels' logits; absent for plain encoders
};

struct Weights {
  Config config;
  Precision precision = Precision::kFp32;  // of the layers' products
  EmbeddingWeights embeddings;
  std::vector<LayerWeights> layers;
  NormWeights final_norm;  // pre-norm families' norm after the last layer
  HeadWeights head;
  int num_labels() const { return head.out ? head.out->out() : 0; }
};

// Loads and prepares every weight for products at `precision`, checking each shape against the
// configuration. The encoder's tensors may carry the family's prefix ("bert.") or not.
// int8-static needs `ranges`, one per layer, their outlier columns within each product's input
// (the caller checks them: ranges_problem).
Weights load_weights(const io::SafeTensors& file, const Config& config, Precision precision,
                     const Int8Ranges* ranges = nullptr);

// Why `ranges` cannot run this model at int8-static (a layer count or an outlier column that does
// not fit), naming the field; empty when they can.
std::string ranges_problem(const Int8Ranges& ranges, const Config& config);

}  // namespace lat::model
