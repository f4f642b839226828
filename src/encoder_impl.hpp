#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lat/encoder.hpp"
#include "lat/settings.hpp"
#include "model/config.hpp"
#include "model/forward.hpp"
#include "model/weights.hpp"

namespace lat {

// What a policy is resolved from (encoder_options.cpp): the options that set its fields, lat.json,
// and what the model allows.
struct PolicySources {
  std::optional<std::vector<double>> exponents;  // the options'
  std::optional<double> floor;                   // the options'
  CostModel cost;                                // the options', else lat.json's at this precision
  Settings settings;                             // lat.json, or nothing
  std::string settings_file;                     // its path, for messages
  ModelShape shape;
  int max_length = 0;
};

struct Encoder::Impl {
  EncoderInfo info;
  Tokenizer tokenizer;
  model::Weights weights;
  PolicySources sources;
  bool trace = false;

  ModelShape shape() const { return sources.shape; }
  // `observer` sees every product's input (model/forward.hpp).
  std::vector<EncoderOutput> run(std::span<const Encoding> inputs, const Policy& policy,
                                 const model::InputObserver* observer = nullptr) const;
};

// Option resolution (encoder_options.cpp).
void check_folder(const std::filesystem::path& folder);
int resolve_max_length(const std::filesystem::path& folder, const EncoderOptions& options,
                       const model::Config& config, const Tokenizer& tokenizer);
// The policy for `speedup` (unset: lat.json's knob, else 1), with exponents and floor given by the
// caller where set, else by the sources; `given` names the caller in messages ("options",
// "policy"). Throws where a value is invalid or the speedup out of reach at the maximum length.
Policy resolve_policy(const PolicySources& sources, std::optional<double> speedup,
                      std::optional<std::vector<double>> exponents, std::optional<double> floor,
                      const std::string& given);

// Tasks (tasks.cpp): the pooled embedding of one input's last-layer rows (rows x hidden).
std::vector<float> pooled(const EncoderInfo& info, std::span<const float> rows);

}  // namespace lat
