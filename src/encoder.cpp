// The encoder: construction, and one packed batch run under a policy.
#include "lat/encoder.hpp"

#include <omp.h>
#include <unistd.h>

#include <chrono>

#include "call_threads.hpp"
#include "encoder_impl.hpp"
#include "io/model_config.hpp"
#include "io/safetensors.hpp"
#include "lat/error.hpp"
#include "model/forward.hpp"
#include "policy_checks.hpp"

namespace lat {
namespace fs = std::filesystem;

Encoder::Encoder(const fs::path& folder, const EncoderOptions& options) {
  check_folder(folder);
  if (options.threads && (*options.threads < 1 || *options.threads > 4096)) {
    throw Error(ErrorCode::kOption,
                "threads " + std::to_string(*options.threads) + " must lie in [1, 4096]");
  }
  PolicySources sources;
  sources.settings_file = (folder / "lat.json").string();
  std::error_code ec;
  if (fs::exists(folder / "lat.json", ec)) sources.settings = read_settings(folder / "lat.json");
  const Settings& settings = sources.settings;
  const Precision precision =
      options.precision.value_or(settings.precision.value_or(Precision::kFp32));
  // lat.json's cost model was measured at lat.json's precision; at another it does not hold.
  if (options.cost) {
    checks::fail_if(checks::cost_problem(*options.cost), "options");
    sources.cost = options.cost->in_batch(1);
  } else if (settings.precision.value_or(Precision::kFp32) == precision) {
    sources.cost = settings.cost();
  }
  sources.exponents = options.exponents;
  sources.floor = options.floor;

  auto config = model::read_config(folder / "config.json");
  auto tokenizer = Tokenizer::from_folder(folder);
  if (tokenizer.vocab_size() > config.vocab_size) {
    throw Error(ErrorCode::kConfig, (folder / "config.json").string() + ": field 'vocab_size' (" +
                                        std::to_string(config.vocab_size) +
                                        ") is smaller than the tokenizer's vocabulary (" +
                                        std::to_string(tokenizer.vocab_size()) + ")");
  }
  sources.shape = {config.layers, config.hidden, config.intermediate,
                   config.family->structure.feed_forward == model::FeedForward::kGated};
  sources.max_length = resolve_max_length(folder, options, config, tokenizer);
  for (std::size_t i = 0; i < settings.curve.size(); ++i) {
    checks::fail_if(checks::exponents_count_problem(settings.curve[i].exponents, config.layers),
                    sources.settings_file + ": curve[" + std::to_string(i) + "]");
  }
  Policy policy = resolve_policy(sources, options.speedup, {}, {}, "options");
  const io::SafeTensors file(folder / "model.safetensors");
  const auto pooling = io::read_pooling_config(folder);
  EncoderInfo info{
      .layers = config.layers,
      .hidden = config.hidden,
      .heads = config.heads,
      .intermediate = config.intermediate,
      .max_positions = config.max_tokens(),
      .model_type = std::string(config.family->model_type),
      .max_length = sources.max_length,
      .threads = options.threads.value_or(omp_get_num_procs()),
      .precision = precision,
      .policy = std::move(policy),
      .curve = settings.curve,
      .classifier = false,
      .labels = {},
      .mean_pooling = pooling.mode == io::Pooling::kMean,
      .normalize = pooling.normalize,
  };
  const Int8Ranges* ranges = nullptr;
  if (precision == Precision::kInt8Static) {
    if (!settings.int8_ranges) {
      throw Error(ErrorCode::kConfig,
                  sources.settings_file +
                      ": field 'int8_static' is missing: precision int8-static runs on activation "
                      "ranges calibrated offline (lat_tune --precision int8-static)");
    }
    ranges = &*settings.int8_ranges;
    const std::string problem = model::ranges_problem(*ranges, config);
    if (!problem.empty()) throw Error(ErrorCode::kConfig, sources.settings_file + ": " + problem);
  }
  auto weights =
      on_passing_thread([&] { return model::load_weights(file, config, precision, ranges); });
  info.classifier = weights.head.out.has_value();
  if (info.classifier) {
    info.labels = config.labels;
    for (int i = static_cast<int>(info.labels.size()); i < weights.num_labels(); ++i) {
      info.labels.push_back("LABEL_" + std::to_string(i));
    }
    info.activation = config.head_activation.value_or(
        weights.num_labels() == 1 ? HeadActivation::kSigmoid : HeadActivation::kSoftmax);
  }
  impl_ =
      std::unique_ptr<const Impl>(new Impl{std::move(info), std::move(tokenizer),
                                           std::move(weights), std::move(sources), options.trace});
}

Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

const Tokenizer& Encoder::tokenizer() const { return impl_->tokenizer; }
const EncoderInfo& Encoder::info() const { return impl_->info; }
const Policy& Encoder::policy() const { return impl_->info.policy; }
ModelShape Encoder::shape() const { return impl_->shape(); }

Policy Encoder::policy(std::optional<double> speedup, std::optional<std::vector<double>> exponents,
                       std::optional<double> floor) const {
  return resolve_policy(impl_->sources, speedup ? speedup : impl_->info.policy.speedup(),
                        std::move(exponents), floor, "policy");
}

Schedule Encoder::schedule(int tokens, int batch) const {
  return impl_->info.policy.schedule(impl_->shape(), tokens, batch);
}

Encoding Encoder::tokenize(std::string_view text) const {
  return impl_->tokenizer.encode(text, impl_->info.max_length);
}

Encoding Encoder::tokenize_pair(std::string_view first, std::string_view second) const {
  return impl_->tokenizer.encode_pair(first, second, impl_->info.max_length);
}

namespace {

std::string input_name(std::size_t i) { return "input " + std::to_string(i); }

}  // namespace

std::vector<EncoderOutput> Encoder::Impl::run(std::span<const Encoding> inputs,
                                              const Policy& policy,
                                              const model::InputObserver* observer) const {
  const auto start = std::chrono::steady_clock::now();
  const auto& c = weights.config;
  checks::fail_if(checks::exponents_count_problem(policy.exponents(), c.layers), "policy");
  model::PackedBatch batch;
  std::vector<std::vector<int>> keep;
  std::vector<EncoderOutput> outputs(inputs.size());
  const int batch_size = static_cast<int>(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Encoding& e = inputs[i];
    const auto n = static_cast<int>(e.ids.size());
    if (n == 0) throw Error(ErrorCode::kInput, input_name(i) + ": no token ids");
    if (n > c.max_tokens()) {
      throw Error(ErrorCode::kInput, input_name(i) + ": " + std::to_string(n) +
                                         " tokens exceed the " + std::to_string(c.max_tokens()) +
                                         " that max_position_embeddings covers");
    }
    if (!e.type_ids.empty() && e.type_ids.size() != e.ids.size()) {
      throw Error(ErrorCode::kInput, input_name(i) + ": " + std::to_string(e.type_ids.size()) +
                                         " type ids for " + std::to_string(n) + " ids");
    }
    for (std::size_t t = 0; t < e.ids.size(); ++t) {
      if (e.ids[t] < 0 || e.ids[t] >= c.vocab_size) {
        throw Error(ErrorCode::kInput, input_name(i) + ": token id " + std::to_string(e.ids[t]) +
                                           " at position " + std::to_string(t) +
                                           " is outside the vocabulary");
      }
      // Families without token types read none: a pair template's type ids are dropped, as
      // transformers drops them (DistilBERT, MPNet, ModernBERT).
      const int type = e.type_ids.empty() || c.type_vocab == 0 ? 0 : e.type_ids[t];
      if (type < 0 || (c.type_vocab > 0 && type >= c.type_vocab)) {
        throw Error(ErrorCode::kInput, input_name(i) + ": type id " + std::to_string(type) +
                                           " at position " + std::to_string(t) +
                                           " is outside [0, type_vocab_size)");
      }
      batch.type_ids.push_back(type);
    }
    batch.ids.insert(batch.ids.end(), e.ids.begin(), e.ids.end());
    batch.offsets.push_back(batch.offsets.back() + n);
    keep.push_back(policy.schedule(shape(), n, batch_size).keep);
    outputs[i].run.tokens = n;
    outputs[i].run.truncated = e.truncated;
    outputs[i].run.kept = keep.back();
    outputs[i].run.speedup = policy.speedup();
  }
  if (inputs.empty()) return outputs;
  // Refuse, before allocating, a batch whose activations could not fit in memory.
  const double needed = model::workspace_bytes(c, batch);
  const double limit = 0.5 * static_cast<double>(sysconf(_SC_PHYS_PAGES)) *
                       static_cast<double>(sysconf(_SC_PAGESIZE));
  if (needed > limit) {
    throw Error(ErrorCode::kInput, "this batch needs " + std::to_string(needed / (1 << 20)) +
                                       " MiB of activations, more than half of this machine's "
                                       "memory; run fewer or shorter inputs at a time");
  }

  const CallThreads threads(info.threads);
  model::ForwardResult result = model::forward(weights, batch, keep, trace, observer);
  const std::vector<float> logits =
      weights.head.out ? model::classify_head(weights, result) : std::vector<float>{};

  const int d = c.hidden;
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    EncoderOutput& out = outputs[i];
    const int begin = result.offsets[i], end = result.offsets[i + 1];
    out.hidden.assign(result.hidden.begin() + std::int64_t{begin} * d,
                      result.hidden.begin() + std::int64_t{end} * d);
    out.positions.assign(result.positions.begin() + begin, result.positions.begin() + end);
    out.embedding = pooled(info, out.hidden);
    if (!logits.empty()) {
      const auto labels = static_cast<std::size_t>(weights.num_labels());
      out.logits.assign(logits.begin() + static_cast<std::int64_t>(i * labels),
                        logits.begin() + static_cast<std::int64_t>((i + 1) * labels));
    }
    if (trace) {
      for (auto& layer : result.trace[i]) {
        out.run.trace.push_back({std::move(layer.acc), std::move(layer.positions)});
      }
    }
    out.run.ms = ms;
  }
  return outputs;
}

std::vector<EncoderOutput> Encoder::run(std::span<const Encoding> inputs,
                                        const std::optional<Policy>& policy) const {
  return impl_->run(inputs, policy ? *policy : impl_->info.policy);
}

}  // namespace lat
