#include "io/model_config.hpp"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "io/json_file.hpp"
#include "lat/error.hpp"

namespace lat::io {
namespace fs = std::filesystem;

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

}  // namespace lat::io
