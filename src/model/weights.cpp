#include "model/weights.hpp"

#include <string>

#include "lat/error.hpp"

namespace lat::model {
namespace {

using Shape = std::vector<std::int64_t>;

kernels::Epilogue epilogue_of(io::Activation a) {
  switch (a) {
    case io::Activation::kGeluErf:
      return kernels::Epilogue::kGeluErf;
    case io::Activation::kGeluTanh:
      return kernels::Epilogue::kGeluTanh;
    case io::Activation::kRelu:
      return kernels::Epilogue::kRelu;
  }
  return kernels::Epilogue::kNone;
}

}  // namespace

BertWeights load_weights(const io::SafeTensors& file, const io::BertConfig& c,
                         Precision precision) {
  const std::string prefix =
      file.find("bert.embeddings.word_embeddings.weight") != nullptr ? "bert." : "";
  auto load = [&](const std::string& name, Shape shape) {
    return file.load_f32(prefix + name, shape);
  };
  auto linear = [&](const std::string& name, int in, int out, Precision p, kernels::Epilogue e) {
    return kernels::Linear(load(name + ".weight", {out, in}), load(name + ".bias", {out}), in, out,
                           p, e);
  };
  const int d = c.hidden;
  BertWeights w{
      .config = c,
      .precision = precision,
      .word_embeddings = load("embeddings.word_embeddings.weight", {c.vocab_size, d}),
      .position_embeddings = load("embeddings.position_embeddings.weight", {c.max_positions, d}),
      .type_embeddings = load("embeddings.token_type_embeddings.weight", {c.type_vocab, d}),
      .embedding_norm_gamma = load("embeddings.LayerNorm.weight", {d}),
      .embedding_norm_beta = load("embeddings.LayerNorm.bias", {d}),
      .layers = {},
      .pooler = std::nullopt,
      .classifier = std::nullopt};
  w.layers.reserve(static_cast<std::size_t>(c.layers));
  for (int l = 0; l < c.layers; ++l) {
    const std::string p = "encoder.layer." + std::to_string(l) + ".";
    std::vector<float> qkv_w, qkv_b;
    for (const char* part : {"query", "key", "value"}) {
      const auto wt = load(p + "attention.self." + part + ".weight", {d, d});
      const auto bs = load(p + "attention.self." + part + ".bias", {d});
      qkv_w.insert(qkv_w.end(), wt.begin(), wt.end());
      qkv_b.insert(qkv_b.end(), bs.begin(), bs.end());
    }
    w.layers.push_back(LayerWeights{
        .qkv = kernels::Linear(qkv_w, qkv_b, d, 3 * d, precision),
        .output = linear(p + "attention.output.dense", d, d, precision, kernels::Epilogue::kNone),
        .ffn_in = linear(p + "intermediate.dense", d, c.intermediate, precision,
                         epilogue_of(c.activation)),
        .ffn_out =
            linear(p + "output.dense", c.intermediate, d, precision, kernels::Epilogue::kNone),
        .attention_norm_gamma = load(p + "attention.output.LayerNorm.weight", {d}),
        .attention_norm_beta = load(p + "attention.output.LayerNorm.bias", {d}),
        .output_norm_gamma = load(p + "output.LayerNorm.weight", {d}),
        .output_norm_beta = load(p + "output.LayerNorm.bias", {d}),
    });
  }
  if (file.find(prefix + "pooler.dense.weight") != nullptr) {
    // The head runs once per sequence: fp32 whatever the precision.
    w.pooler.emplace(linear("pooler.dense", d, d, Precision::kFp32, kernels::Epilogue::kTanh));
  }
  if (const auto* cls = file.find("classifier.weight"); cls != nullptr) {
    if (!w.pooler) {
      throw Error(ErrorCode::kFormat, file.path().string() +
                                          ": a classifier without pooler.dense weights is not a "
                                          "BertForSequenceClassification");
    }
    if (cls->shape.size() != 2 || cls->shape[0] < 1 || cls->shape[0] > 1 << 20) {
      throw Error(ErrorCode::kFormat,
                  file.path().string() + ": tensor 'classifier.weight' must be [labels, hidden]");
    }
    const int labels = static_cast<int>(cls->shape[0]);
    w.classifier.emplace(kernels::Linear(file.load_f32("classifier.weight", Shape{labels, d}),
                                         file.load_f32("classifier.bias", Shape{labels}), d,
                                         labels));
    if (!c.labels.empty() && static_cast<int>(c.labels.size()) != labels) {
      throw Error(ErrorCode::kConfig,
                  "config.json: field 'id2label' names " + std::to_string(c.labels.size()) +
                      " labels, but classifier.weight has " + std::to_string(labels) + " rows");
    }
  }
  return w;
}

}  // namespace lat::model
