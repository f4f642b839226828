#include "model/config.hpp"

#include <nlohmann/json.hpp>
#include <utility>

#include "io/json_file.hpp"
#include "lat/error.hpp"

namespace lat::model {

namespace {

// The head's activation the folder names. sentence-transformers saves its cross-encoders' choice
// as a torch class name (sentence_transformers.activation_fn, or, before its version 4,
// sbert_ce_default_activation_function); transformers' problem_type says it otherwise.
std::optional<HeadActivation> head_activation_of(const nlohmann::json& json,
                                                 const io::JsonFields& f) {
  auto torch_class = [&](const nlohmann::json& value, const char* key) {
    if (!value.is_string()) f.fail(key, "must be a string naming a torch activation class");
    const auto name = value.get<std::string>();
    if (name == "torch.nn.modules.linear.Identity") return HeadActivation::kIdentity;
    if (name == "torch.nn.modules.activation.Sigmoid") return HeadActivation::kSigmoid;
    throw Error(ErrorCode::kUnsupported, f.file() + ": field '" + key + "' is '" + name +
                                             "'; lat applies torch.nn.modules.linear.Identity and "
                                             "torch.nn.modules.activation.Sigmoid");
  };
  if (const auto st = json.find("sentence_transformers"); st != json.end() && !st->is_null()) {
    if (!st->is_object()) f.fail("sentence_transformers", "must be an object");
    if (const auto fn = st->find("activation_fn"); fn != st->end() && !fn->is_null())
      return torch_class(*fn, "sentence_transformers.activation_fn");
  }
  if (const auto fn = json.find("sbert_ce_default_activation_function");
      fn != json.end() && !fn->is_null()) {
    return torch_class(*fn, "sbert_ce_default_activation_function");
  }
  const auto problem = f.string("problem_type");
  if (!problem) return std::nullopt;
  if (*problem == "regression") return HeadActivation::kIdentity;
  if (*problem == "multi_label_classification") return HeadActivation::kSigmoid;
  if (*problem == "single_label_classification") return HeadActivation::kSoftmax;
  f.fail("problem_type", "is '" + *problem +
                             "'; transformers knows regression, single_label_classification and "
                             "multi_label_classification");
}

// An activation named by config.json's `key` (gelu where the key is absent).
Activation activation_of(const io::JsonFields& f, std::string_view key) {
  const std::string name(key);
  const std::string act = f.string(name.c_str()).value_or("gelu");
  if (act == "gelu") return Activation::kGeluErf;
  if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast")
    return Activation::kGeluTanh;
  if (act == "relu") return Activation::kRelu;
  throw Error(ErrorCode::kUnsupported, f.file() + ": field '" + name + "' is '" + act +
                                           "'; lat runs gelu, gelu_new, gelu_pytorch_tanh, "
                                           "gelu_fast and relu");
}

// What the config says of the family's structure: rotary bases, the attention window, biases
// and the head.
void read_structure(const nlohmann::json& json, const io::JsonFields& f, Config& c) {
  const Family::ConfigKeys& keys = c.family->keys;
  const Structure& structure = c.family->structure;
  auto number = [&](std::string_view key, double fallback) {
    return key.empty() ? fallback : f.number(std::string(key).c_str()).value_or(fallback);
  };
  auto flag = [&](std::string_view key, bool fallback) {
    return key.empty() ? fallback : f.boolean(std::string(key).c_str()).value_or(fallback);
  };
  if (structure.positions == PositionKind::kRotary) {
    // ModernBERT's defaults; a local base given as null is the global one.
    const double global = number(keys.rope_theta, 160000.0);
    const auto given = json.find(std::string(keys.local_rope_theta));
    const double local =
        given != json.end() && given->is_null() ? global : number(keys.local_rope_theta, 10000.0);
    for (const auto& [key, theta] :
         {std::pair{keys.rope_theta, global}, {keys.local_rope_theta, local}}) {
      if (!(theta > 1.0 && theta < 1e12)) f.fail(std::string(key).c_str(), "must lie in (1, 1e12)");
    }
    c.rope_theta = static_cast<float>(global);
    c.local_rope_theta = static_cast<float>(local);
    // Rotary turns pairs of a head's dimensions: its width must be even.
    if ((c.hidden / c.heads) % 2 != 0) {
      f.fail(std::string(keys.heads).c_str(), "(" + std::to_string(c.heads) + ") gives heads " +
                                                  std::to_string(c.hidden / c.heads) +
                                                  " wide; rotary positions need an even width");
    }
  }
  if (structure.local_attention) {
    // A window of 0 or 1 lets a local layer's row see itself alone, as in transformers.
    c.window = static_cast<int>(f.has(std::string(keys.window).c_str())
                                    ? f.integer_in(std::string(keys.window).c_str(), 0, 1 << 20)
                                    : 128);
    c.global_every =
        static_cast<int>(f.has(std::string(keys.global_every).c_str())
                             ? f.integer_in(std::string(keys.global_every).c_str(), 1, 1 << 10)
                             : 3);
  }
  c.attention_bias = flag(keys.attention_bias, structure.linear_bias);
  c.ffn_bias = flag(keys.ffn_bias, structure.linear_bias);
  c.norm_bias = flag(keys.norm_bias, structure.norm_bias);
  c.head_bias = flag(keys.head_bias, true);
  if (!keys.head_activation.empty())
    c.head_dense_activation = activation_of(f, keys.head_activation);
  if (!keys.head_pooling.empty()) {
    const auto pooling = f.string(std::string(keys.head_pooling).c_str()).value_or("cls");
    if (pooling != "cls" && pooling != "mean") {
      f.fail(std::string(keys.head_pooling).c_str(), "is '" + pooling + "'; lat runs cls and mean");
    }
    c.head_mean = pooling == "mean";
  }
}

}  // namespace

Config read_config(const std::filesystem::path& file) {
  return parse_config(io::read_json(file), file.string());
}

Config parse_config(const nlohmann::json& json, const std::string& where) {
  const io::JsonFields f(json, where);
  const auto model_type = f.string("model_type");
  if (!model_type) f.fail("model_type", "is missing");
  Config c;
  c.family = find_family(*model_type);
  if (c.family == nullptr) {
    throw Error(ErrorCode::kUnsupported, where + ": field 'model_type' is '" + *model_type +
                                             "'; lat runs " + family_names());
  }
  const auto& keys = c.family->keys;
  auto size = [&](std::string_view key, long long lo, long long hi) {
    return static_cast<int>(f.integer_in(std::string(key).c_str(), lo, hi));
  };
  if (const auto pe = f.string("position_embedding_type"); pe && *pe != "absolute") {
    throw Error(ErrorCode::kUnsupported,
                where + ": field 'position_embedding_type' is '" + *pe + "'; lat runs 'absolute'");
  }
  // Bounds far above any published encoder, low enough that no product of them overflows.
  c.vocab_size = size("vocab_size", 1, 1 << 24);
  c.hidden = size(keys.hidden, 1, 1 << 16);
  c.layers = size(keys.layers, 1, 1024);
  c.heads = size(keys.heads, 1, 1024);
  c.intermediate = size(keys.intermediate, 1, 1 << 18);
  c.max_positions = size("max_position_embeddings", 2, 1 << 16);
  const auto& tensors = c.family->tensors;
  c.type_vocab = tensors.token_type.empty() ? 0
                 : f.has("type_vocab_size") ? size("type_vocab_size", 1, 1 << 16)
                                            : 2;
  c.embedding_size = !keys.embedding_size.empty() && f.has(std::string(keys.embedding_size).c_str())
                         ? size(keys.embedding_size, 1, 1 << 16)
                         : c.hidden;
  const Structure& structure = c.family->structure;
  if (structure.position_ids == PositionIds::kAfterPadding) {
    // transformers counts these positions from the padding id on: padding_idx + 1 is the first.
    const int padding = f.has("pad_token_id") ? size("pad_token_id", 0, 1 << 16) : 1;
    c.padding_idx = padding;
    c.position_offset = padding + 1;
    if (c.position_offset >= c.max_positions) {
      f.fail("pad_token_id", "(" + std::to_string(padding) +
                                 ") leaves no position for a token below max_position_embeddings");
    }
  }
  if (structure.positions == PositionKind::kRelativeBuckets) {
    // transformers indexes 32 buckets of the table whatever its size: it must have them.
    c.relative_buckets = f.has("relative_attention_num_buckets")
                             ? size("relative_attention_num_buckets", 32, 1 << 10)
                             : 32;
  }
  if (c.hidden % c.heads != 0) {
    f.fail(std::string(keys.heads).c_str(), "(" + std::to_string(c.heads) + ") does not divide " +
                                                std::string(keys.hidden) + " (" +
                                                std::to_string(c.hidden) + ")");
  }
  c.layer_norm_eps = structure.layer_norm_eps;
  if (const auto eps = keys.layer_norm_eps.empty()
                           ? std::nullopt
                           : f.number(std::string(keys.layer_norm_eps).c_str())) {
    if (!(*eps > 0 && *eps < 1))
      f.fail(std::string(keys.layer_norm_eps).c_str(), "must lie in (0, 1)");
    c.layer_norm_eps = static_cast<float>(*eps);
  }
  c.activation = activation_of(f, keys.activation);
  read_structure(json, f, c);
  if (const auto it = json.find("id2label"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) f.fail("id2label", "must be an object of id to name");
    std::vector<std::string> labels(it->size());
    for (const auto& [key, value] : it->items()) {
      std::size_t used = 0;
      long id = -1;
      try {
        id = std::stol(key, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != key.size() || id < 0 || id >= static_cast<long>(labels.size()) ||
          !value.is_string() || !labels[static_cast<std::size_t>(id)].empty()) {
        f.fail("id2label", "must map the ids 0..n-1, each once, to names; bad entry '" + key + "'");
      }
      labels[static_cast<std::size_t>(id)] = value.get<std::string>();
    }
    c.labels = std::move(labels);
  }
  c.head_activation = head_activation_of(json, f);
  return c;
}

}  // namespace lat::model
