// How an encoder's options, its model folder and lat.json resolve into its settings and policies.
#include <cmath>

#include "encoder_impl.hpp"
#include "io/model_config.hpp"
#include "lat/error.hpp"
#include "number_text.hpp"
#include "policy_checks.hpp"

namespace lat {
namespace fs = std::filesystem;

void check_folder(const fs::path& folder) {
  std::error_code ec;
  const auto status = fs::status(folder, ec);
  if (ec || !fs::exists(status)) {
    throw Error(ErrorCode::kIo, folder.string() + ": model folder does not exist");
  }
  if (!fs::is_directory(status)) {
    throw Error(ErrorCode::kIo, folder.string() + ": model folder is not a directory");
  }
  const fs::path weights = folder / "model.safetensors";
  if (!fs::exists(weights, ec) && fs::exists(folder / "pytorch_model.bin", ec)) {
    throw Error(ErrorCode::kUnsupported,
                weights.string() + ": missing; lat reads safetensors, not pytorch_model.bin");
  }
}

int resolve_max_length(const fs::path& folder, const EncoderOptions& options,
                       const model::Config& config, const Tokenizer& tokenizer) {
  if (options.max_length < 0 || options.max_length == 1) {
    throw Error(ErrorCode::kOption, "max_length " + std::to_string(options.max_length) +
                                        " must be 0 (the model's) or at least 2");
  }
  int length = options.max_length;
  if (length == 0) {
    length = io::read_sentence_max_length(folder).value_or(tokenizer.model_max_length());
  }
  if (length == 0 || length > config.max_tokens()) {
    if (options.max_length > config.max_tokens()) {
      throw Error(ErrorCode::kOption, "max_length " + std::to_string(options.max_length) +
                                          " exceeds the " + std::to_string(config.max_tokens()) +
                                          " tokens the model's max_position_embeddings cover");
    }
    length = config.max_tokens();
  }
  return length;
}

Policy resolve_policy(const PolicySources& sources, std::optional<double> speedup,
                      std::optional<std::vector<double>> exponents, std::optional<double> floor,
                      const std::string& given) {
  const Settings& settings = sources.settings;
  const std::string& file = sources.settings_file;
  const double s = speedup.value_or(settings.speedup.value_or(1.0));
  const std::string speedup_source = speedup ? given : file;
  checks::fail_if(checks::speedup_problem(s), speedup_source);
  // Explicit exponents win; else the options'; else lat.json's for this speedup.
  const bool exponents_given = exponents || sources.exponents;
  std::vector<double> w = exponents           ? std::move(*exponents)
                          : sources.exponents ? *sources.exponents
                                              : exponents_for(settings, s, sources.shape.layers);
  const std::string exponents_source = exponents_given ? given : file;
  checks::fail_if(checks::exponents_count_problem(w, sources.shape.layers), exponents_source);
  const double f = floor.value_or(sources.floor.value_or(settings.floor.value_or(0.0)));
  const std::string floor_source = floor || sources.floor ? given : file;
  checks::fail_if(checks::exponents_problem(w), exponents_source);
  checks::fail_if(checks::floor_problem(f), floor_source);
  Policy policy(s, std::move(w), f, sources.cost);
  // A speedup that no input of up to the maximum length reaches, even keeping the floor after
  // the first layer, is refused: longer inputs reach more, so the longest one bounds them all.
  const double most = checks::schedule_for_ratio(sources.shape, sources.max_length, 0.0,
                                                 policy.cost(), policy.exponents(), policy.floor())
                          .predicted;
  if (s > most) {
    throw Error(
        ErrorCode::kOption,
        speedup_source + ": speedup " + number_text(s) + " is out of reach: an input of " +
            std::to_string(sources.max_length) + " tokens (the maximum length) runs at most " +
            number_text(most) + " times faster under " +
            (policy.cost() == CostModel{} ? "the FLOP cost model" : "this calibrated cost model"));
  }
  return policy;
}

}  // namespace lat
