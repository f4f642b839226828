#include "io/model_config.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "io/json_file.hpp"
#include "lat/error.hpp"

namespace lat::io {
namespace fs = std::filesystem;

BertConfig read_bert_config(const fs::path& file) {
  return parse_bert_config(read_json(file), file.string());
}

BertConfig parse_bert_config(const nlohmann::json& json, const std::string& where) {
  const JsonFields f(json, where);
  const auto model_type = f.string("model_type");
  if (!model_type) f.fail("model_type", "is missing");
  if (*model_type != "bert") {
    throw Error(ErrorCode::kUnsupported,
                where + ": field 'model_type' is '" + *model_type + "'; lat runs 'bert'");
  }
  if (const auto pe = f.string("position_embedding_type"); pe && *pe != "absolute") {
    throw Error(ErrorCode::kUnsupported,
                where + ": field 'position_embedding_type' is '" + *pe + "'; lat runs 'absolute'");
  }
  // Bounds far above any published BERT, low enough that no product of them overflows.
  BertConfig c;
  c.vocab_size = static_cast<int>(f.integer_in("vocab_size", 1, 1 << 24));
  c.hidden = static_cast<int>(f.integer_in("hidden_size", 1, 1 << 16));
  c.layers = static_cast<int>(f.integer_in("num_hidden_layers", 1, 1024));
  c.heads = static_cast<int>(f.integer_in("num_attention_heads", 1, 1024));
  c.intermediate = static_cast<int>(f.integer_in("intermediate_size", 1, 1 << 18));
  c.max_positions = static_cast<int>(f.integer_in("max_position_embeddings", 2, 1 << 16));
  c.type_vocab =
      f.has("type_vocab_size") ? static_cast<int>(f.integer_in("type_vocab_size", 1, 1 << 16)) : 2;
  if (c.hidden % c.heads != 0) {
    f.fail("num_attention_heads", "(" + std::to_string(c.heads) +
                                      ") does not divide hidden_size (" + std::to_string(c.hidden) +
                                      ")");
  }
  if (const auto eps = f.number("layer_norm_eps")) {
    if (!(*eps > 0 && *eps < 1)) f.fail("layer_norm_eps", "must lie in (0, 1)");
    c.layer_norm_eps = static_cast<float>(*eps);
  }
  const std::string act = f.string("hidden_act").value_or("gelu");
  if (act == "gelu") {
    c.activation = Activation::kGeluErf;
  } else if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") {
    c.activation = Activation::kGeluTanh;
  } else if (act == "relu") {
    c.activation = Activation::kRelu;
  } else {
    throw Error(ErrorCode::kUnsupported, where + ": field 'hidden_act' is '" + act +
                                             "'; lat runs gelu, gelu_new, "
                                             "gelu_pytorch_tanh, gelu_fast and relu");
  }
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
  c.multi_label = f.string("problem_type").value_or("") == "multi_label_classification";
  return c;
}

PoolingConfig read_pooling_config(const fs::path& folder) {
  PoolingConfig p;
  const fs::path modules_file = folder / "modules.json";
  std::error_code ec;
  if (!fs::exists(modules_file, ec)) return p;
  const auto modules = read_json(modules_file);
  if (!modules.is_array()) {
    throw Error(ErrorCode::kFormat, modules_file.string() + ": expected an array of modules");
  }
  bool pooling_seen = false;
  for (const auto& m : modules) {
    const JsonFields mf(m, modules_file.string());
    const std::string type = mf.string("type").value_or("");
    if (type == "sentence_transformers.models.Normalize") p.normalize = true;
    if (type != "sentence_transformers.models.Pooling") continue;
    pooling_seen = true;
    const std::string sub = mf.string("path").value_or("");
    if (sub.find("..") != std::string::npos || (!sub.empty() && sub.front() == '/')) {
      mf.fail("path", "must name a folder inside the model folder");
    }
    const fs::path file = folder / sub / "config.json";
    const auto json = read_json(file);
    const JsonFields f(json, file.string());
    const bool cls = f.boolean("pooling_mode_cls_token").value_or(false);
    const bool mean = f.boolean("pooling_mode_mean_tokens").value_or(false);
    for (const char* other : {"pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens",
                              "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"}) {
      if (f.boolean(other).value_or(false)) {
        throw Error(ErrorCode::kUnsupported,
                    file.string() + ": field '" + other + "' is set; lat pools by CLS or mean");
      }
    }
    if (cls == mean) {
      throw Error(ErrorCode::kUnsupported, file.string() +
                                               ": exactly one of pooling_mode_cls_token and "
                                               "pooling_mode_mean_tokens must be true");
    }
    p.mode = mean ? Pooling::kMean : Pooling::kCls;
  }
  if (!pooling_seen && !modules.empty()) p.mode = Pooling::kCls;
  return p;
}

std::optional<int> read_sentence_max_length(const fs::path& folder) {
  const fs::path file = folder / "sentence_bert_config.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  const auto json = read_json(file);
  const JsonFields f(json, file.string());
  if (!f.has("max_seq_length")) return std::nullopt;
  return static_cast<int>(f.integer_in("max_seq_length", 2, 1 << 16));
}

LatSettings read_lat_settings(const fs::path& folder) {
  const fs::path file = folder / "lat.json";
  std::error_code ec;
  if (!fs::exists(file, ec)) return {};
  const auto json = read_json(file);
  const JsonFields f(json, file.string());
  // The settings, and the record lat_tune keeps beside them of how it chose them.
  constexpr std::string_view kKnown[] = {"speedup",  "precision",     "weight_flops",
                                         "tuned_on", "budget_points", "dense_accuracy",
                                         "curve"};
  for (const auto& [key, value] : json.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), key) == std::end(kKnown)) {
      throw Error(ErrorCode::kConfig, file.string() + ": unknown key '" + key +
                                          "'; lat.json sets speedup, precision and weight_flops");
    }
  }
  LatSettings settings{f.number("speedup"), std::nullopt, f.number("weight_flops")};
  if (const auto name = f.string("precision")) {
    settings.precision = precision_from_string(*name);
    if (!settings.precision)
      f.fail("precision", "is '" + *name + "'; lat runs fp32, bf16 and int8");
  }
  return settings;
}

}  // namespace lat::io
