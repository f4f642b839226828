#include "model/weights.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "lat/error.hpp"

namespace lat::model {
namespace {

using Shape = std::vector<std::int64_t>;

kernels::Epilogue epilogue_of(Activation a) {
  switch (a) {
    case Activation::kGeluErf:
      return kernels::Epilogue::kGeluErf;
    case Activation::kGeluTanh:
      return kernels::Epilogue::kGeluTanh;
    case Activation::kRelu:
      return kernels::Epilogue::kRelu;
  }
  return kernels::Epilogue::kNone;
}

// The activation after a head's dense layer.
kernels::Epilogue head_epilogue(const Config& c) {
  switch (c.family->structure.head) {
    case HeadKind::kPreClassifierRelu:
      return kernels::Epilogue::kRelu;
    case HeadKind::kDenseGelu:
      return kernels::Epilogue::kGeluErf;
    case HeadKind::kDenseActNorm:
      return epilogue_of(c.head_dense_activation);
    case HeadKind::kPooler:
    case HeadKind::kDenseTanh:
      break;
  }
  return kernels::Epilogue::kTanh;
}

// MPNet's bucket of a relative distance (key position - query position), as transformers
// computes it: 32 buckets whatever the config says (the config sizes only the table), half for
// each direction, exact distances below 8, logarithmic steps up to a distance of 128.
constexpr int kRelativeBuckets = 32;
int relative_bucket(int distance) {
  constexpr int buckets = kRelativeBuckets;
  constexpr double kMaxDistance = 128;
  const int half = buckets / 2, exact = half / 2;
  const int n = -distance;
  int bucket = n < 0 ? half : 0;
  const int magnitude = n < 0 ? -n : n;
  if (magnitude < exact) return bucket + magnitude;
  // In fp32, as transformers computes it, then truncated.
  const float steps = std::log(static_cast<float>(magnitude) / static_cast<float>(exact)) /
                      static_cast<float>(std::log(kMaxDistance / exact)) *
                      static_cast<float>(half - exact);
  const int large = exact + static_cast<int>(steps);
  return bucket + std::min(large, half - 1);
}

}  // namespace

std::string ranges_problem(const Int8Ranges& ranges, const Config& c) {
  if (std::ssize(ranges.layers) != c.layers) {
    return "int8_static: field 'layers' holds " + std::to_string(ranges.layers.size()) +
           " layers; the model has " + std::to_string(c.layers);
  }
  for (std::size_t l = 0; l < ranges.layers.size(); ++l) {
    for (int p = 0; p < 4; ++p) {
      const ActivationRange* range = &ranges.layers[l].at(p);
      const std::string product = LayerRanges::kNames[p];
      const int width = product == "ffn_out" ? c.intermediate : c.hidden;
      if (!range->smooth.empty() && std::ssize(range->smooth) != width) {
        return "int8_static: layers[" + std::to_string(l) + "]: " + product + ": smooth holds " +
               std::to_string(range->smooth.size()) + " values for the input's " +
               std::to_string(width) + " columns";
      }
      for (int column : range->outliers) {
        if (column >= width) {
          return "int8_static: layers[" + std::to_string(l) + "]: " + product +
                 ": outlier column " + std::to_string(column) + " is outside the input's " +
                 std::to_string(width) + " columns";
        }
      }
    }
  }
  return "";
}

Weights load_weights(const io::SafeTensors& file, const Config& c, Precision precision,
                     const Int8Ranges* ranges) {
  const Family& family = *c.family;
  const Structure& structure = family.structure;
  const auto& names = family.tensors;
  // The encoder's tensors carry the family's prefix in a task model, not in a bare encoder.
  const std::string prefix =
      file.find(std::string(family.prefix) + std::string(names.word) + ".weight") != nullptr
          ? std::string(family.prefix)
          : "";
  auto load = [&](std::string_view name, Shape shape) {
    return file.load_f32(prefix + std::string(name), shape);
  };
  const int d = c.hidden;
  // A bias where the structure has one, else zeros.
  auto bias = [&](const std::string& name, int out, bool has) {
    return has ? load(name + ".bias", {out})
               : std::vector<float>(static_cast<std::size_t>(out), 0.f);
  };
  // The layers' products run int8 under int8-static, their inputs under the calibrated codes.
  const Precision layer_precision =
      precision == Precision::kInt8Static ? Precision::kInt8 : precision;
  auto linear = [&](std::string_view name, int in, int out, Precision p, kernels::Epilogue e,
                    bool has_bias = true, const ActivationRange* range = nullptr) {
    const std::string n(name);
    return kernels::Linear(load(n + ".weight", {out, in}), bias(n, out, has_bias), in, out, p, e,
                           range);
  };
  auto norm = [&](const std::string& name, int width) {
    return NormWeights{load(name + ".weight", {width}), bias(name, width, c.norm_bias)};
  };
  Weights w{.config = c,
            .precision = precision,
            .embeddings = {},
            .layers = {},
            .final_norm = {},
            .head = {}};
  const int e = c.embedding_size;
  w.embeddings.word = load(std::string(names.word) + ".weight", {c.vocab_size, e});
  if (!names.position.empty()) {
    w.embeddings.position = load(std::string(names.position) + ".weight", {c.max_positions, e});
  }
  if (!names.token_type.empty()) {
    w.embeddings.token_type = load(std::string(names.token_type) + ".weight", {c.type_vocab, e});
  }
  w.embeddings.norm = norm(std::string(names.embedding_norm), e);
  if (e != d) {
    if (names.embedding_projection.empty()) {
      throw Error(ErrorCode::kConfig, "config.json: embeddings of width " + std::to_string(e) +
                                          " need a projection to hidden size " + std::to_string(d) +
                                          ", which " + std::string(family.model_type) + " has not");
    }
    w.embeddings.projection.emplace(
        linear(names.embedding_projection, e, d, Precision::kFp32, kernels::Epilogue::kNone));
  }
  if (structure.positions == PositionKind::kRelativeBuckets) {
    w.embeddings.relative_bias =
        load(std::string(names.relative_bias) + ".weight", {c.relative_buckets, c.heads});
    w.embeddings.distance_bucket.resize(2 * static_cast<std::size_t>(c.max_positions) + 1);
    for (int distance = -c.max_positions; distance <= c.max_positions; ++distance) {
      w.embeddings.distance_bucket[static_cast<std::size_t>(distance + c.max_positions)] =
          static_cast<std::uint8_t>(relative_bucket(distance));
    }
  }
  const bool gated = structure.feed_forward == FeedForward::kGated;
  const int dff = c.intermediate;
  w.layers.reserve(static_cast<std::size_t>(c.layers));
  for (int l = 0; l < c.layers; ++l) {
    auto name = [&](std::string_view pattern) { return tensor_name(pattern, l); };
    // Q, K and V as one matrix: fused in the file, or three.
    std::vector<float> qkv_w, qkv_b;
    if (names.key.empty()) {
      qkv_w = load(name(names.query) + ".weight", {3 * d, d});
      qkv_b = bias(name(names.query), 3 * d, c.attention_bias);
    } else {
      for (std::string_view part : {names.query, names.key, names.value}) {
        const auto wt = load(name(part) + ".weight", {d, d});
        const auto bs = bias(name(part), d, c.attention_bias);
        qkv_w.insert(qkv_w.end(), wt.begin(), wt.end());
        qkv_b.insert(qkv_b.end(), bs.begin(), bs.end());
      }
    }
    // A gated feed-forward's input matrix holds the activated half, then the gate: one product,
    // whose activation Loops::gated applies with the gate.
    const int inner = (gated ? 2 : 1) * dff;
    const bool attention_norm =
        structure.norm == NormPlacement::kPost || structure.first_attention_norm || l > 0;
    const LayerRanges* r =
        ranges != nullptr ? &ranges->layers[static_cast<std::size_t>(l)] : nullptr;
    const Precision p = layer_precision;
    w.layers.push_back(LayerWeights{
        .qkv = kernels::Linear(qkv_w, qkv_b, d, 3 * d, p, kernels::Epilogue::kNone,
                               r ? &r->qkv : nullptr),
        .output = linear(name(names.attention_output), d, d, p, kernels::Epilogue::kNone,
                         c.attention_bias, r ? &r->output : nullptr),
        .ffn_in = linear(name(names.ffn_in), d, inner, p,
                         gated ? kernels::Epilogue::kNone : epilogue_of(c.activation), c.ffn_bias,
                         r ? &r->ffn_in : nullptr),
        .gate_activation = gated ? epilogue_of(c.activation) : kernels::Epilogue::kNone,
        .ffn_out = linear(name(names.ffn_out), dff, d, p, kernels::Epilogue::kNone, c.ffn_bias,
                          r ? &r->ffn_out : nullptr),
        .attention_norm = attention_norm ? norm(name(names.attention_norm), d) : NormWeights{},
        .output_norm = norm(name(names.output_norm), d),
    });
  }
  if (structure.final_norm) w.final_norm = norm(std::string(names.final_norm), d);

  // The head. A pooler is part of the encoder (under its prefix); the rest of a head is not.
  const std::string dense = (structure.head == HeadKind::kPooler ? prefix : std::string()) +
                            std::string(names.head_dense);
  const std::string out(names.head_out);
  if (file.find(dense + ".weight") != nullptr) {
    const bool head_bias = structure.head != HeadKind::kDenseActNorm || c.head_bias;
    w.head.dense.emplace(file.load_f32(dense + ".weight", Shape{d, d}),
                         head_bias ? file.load_f32(dense + ".bias", Shape{d})
                                   : std::vector<float>(static_cast<std::size_t>(d), 0.f),
                         d, d, Precision::kFp32, head_epilogue(c));
    if (!names.head_norm.empty()) {
      const std::string n(names.head_norm);
      w.head.norm = {file.load_f32(n + ".weight", Shape{d}),
                     c.norm_bias ? file.load_f32(n + ".bias", Shape{d})
                                 : std::vector<float>(static_cast<std::size_t>(d), 0.f)};
    }
  }
  if (const auto* cls = file.find(out + ".weight"); cls != nullptr) {
    if (!w.head.dense) {
      throw Error(ErrorCode::kFormat, file.path().string() + ": a classifier without " + dense +
                                          " weights is not a " + std::string(family.model_type) +
                                          " sequence classifier");
    }
    if (cls->shape.size() != 2 || cls->shape[0] < 1 || cls->shape[0] > 1 << 20) {
      throw Error(ErrorCode::kFormat,
                  file.path().string() + ": tensor '" + out + ".weight' must be [labels, hidden]");
    }
    const int labels = static_cast<int>(cls->shape[0]);
    w.head.out.emplace(file.load_f32(out + ".weight", Shape{labels, d}),
                       file.load_f32(out + ".bias", Shape{labels}), d, labels);
    if (!c.labels.empty() && static_cast<int>(c.labels.size()) != labels) {
      throw Error(ErrorCode::kConfig, "config.json: field 'id2label' names " +
                                          std::to_string(c.labels.size()) + " labels, but " + out +
                                          ".weight has " + std::to_string(labels) + " rows");
    }
  }
  return w;
}

}  // namespace lat::model
