#pragma once

#include <optional>
#include <vector>

#include "io/model_config.hpp"
#include "io/safetensors.hpp"
#include "kernels/linear.hpp"
#include "lat/precision.hpp"

namespace lat::model {

struct LayerWeights {
  kernels::Linear qkv;     // [Q K V] = X Wqkv^T + b, one product for all three
  kernels::Linear output;  // attention output projection
  kernels::Linear ffn_in;  // with the activation fused
  kernels::Linear ffn_out;
  std::vector<float> attention_norm_gamma, attention_norm_beta;
  std::vector<float> output_norm_gamma, output_norm_beta;
};

struct BertWeights {
  io::BertConfig config;
  Precision precision = Precision::kFp32;  // of the layers' products; the head runs in fp32
  std::vector<float> word_embeddings, position_embeddings, type_embeddings;
  std::vector<float> embedding_norm_gamma, embedding_norm_beta;
  std::vector<LayerWeights> layers;
  std::optional<kernels::Linear> pooler;      // tanh fused
  std::optional<kernels::Linear> classifier;  // BertForSequenceClassification
  int num_labels() const { return classifier ? classifier->out() : 0; }
};

// Loads and prepares every weight for products at `precision`, checking each shape against the
// configuration. Tensor names may carry the "bert." prefix or not.
BertWeights load_weights(const io::SafeTensors& file, const io::BertConfig& config,
                         Precision precision);

}  // namespace lat::model
