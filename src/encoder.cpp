#include "lat/encoder.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "call_threads.hpp"
#include "io/model_config.hpp"
#include "io/safetensors.hpp"
#include "kernels/cpu/loops.hpp"
#include "lat/error.hpp"
#include "model/config.hpp"
#include "model/forward.hpp"
#include "number_text.hpp"

namespace lat {
namespace fs = std::filesystem;

struct Encoder::Impl {
  EncoderInfo info;
  Tokenizer tokenizer;
  model::Weights weights;
  bool trace = false;

  ModelShape shape() const { return {info.layers, info.hidden, info.intermediate}; }
  std::vector<EncoderOutput> run(std::span<const Encoding> inputs) const;
};

namespace {

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

double checked_speedup(double s, const std::string& source) {
  if (!std::isfinite(s) || s < 1.0) {
    throw Error(ErrorCode::kOption,
                source + ": speedup " + number_text(s) + " must be a finite number >= 1");
  }
  return s;
}

CostModel checked_cost(CostModel c, const std::string& source) {
  if (!std::isfinite(c.weight_flops) || c.weight_flops < 0.0) {
    throw Error(ErrorCode::kOption, source + ": weight_flops " + number_text(c.weight_flops) +
                                        " must be a finite number >= 0");
  }
  return c;
}

// A speedup that no input of up to `max_length` tokens reaches, even keeping one row after the
// first layer, is refused: longer inputs reach more, so the longest one bounds them all.
void check_reachable(const ModelShape& shape, int max_length, double speedup, const CostModel& cost,
                     KeepExponents exponents, double floor, const std::string& source) {
  const double most = schedule_for_ratio(shape, max_length, 0.0, cost, exponents, floor).predicted;
  if (speedup > most) {
    throw Error(ErrorCode::kOption,
                source + ": speedup " + number_text(speedup) + " is out of reach: an input of " +
                    std::to_string(max_length) + " tokens (the maximum length) runs at most " +
                    number_text(most) + " times faster under " +
                    (cost.weight_flops > 0 ? "this calibrated cost model" : "the FLOP cost model"));
  }
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
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

std::string input_name(std::size_t i) { return "input " + std::to_string(i); }

}  // namespace

Encoder::Encoder(const fs::path& folder, const EncoderOptions& options) {
  check_folder(folder);
  if (options.threads && (*options.threads < 1 || *options.threads > 4096)) {
    throw Error(ErrorCode::kOption,
                "threads " + std::to_string(*options.threads) + " must lie in [1, 4096]");
  }
  const auto settings = io::read_lat_settings(folder);
  const std::string settings_file = (folder / "lat.json").string();
  const std::string speedup_source = options.speedup ? "options" : settings_file;
  const double speedup =
      checked_speedup(options.speedup.value_or(settings.speedup.value_or(1.0)), speedup_source);
  const Precision precision =
      options.precision.value_or(settings.precision.value_or(Precision::kFp32));
  // lat.json's cost model was measured at lat.json's precision; at another it does not hold.
  const bool settings_cost_applies = settings.precision.value_or(Precision::kFp32) == precision;
  const CostModel cost =
      options.cost
          ? checked_cost(*options.cost, "options")
          : checked_cost({settings_cost_applies ? settings.weight_flops.value_or(0.0) : 0.0},
                         settings_file);
  auto config = model::read_config(folder / "config.json");
  auto tokenizer = Tokenizer::from_folder(folder);
  if (tokenizer.vocab_size() > config.vocab_size) {
    throw Error(ErrorCode::kConfig, (folder / "config.json").string() + ": field 'vocab_size' (" +
                                        std::to_string(config.vocab_size) +
                                        ") is smaller than the tokenizer's vocabulary (" +
                                        std::to_string(tokenizer.vocab_size()) + ")");
  }
  const io::SafeTensors file(folder / "model.safetensors");
  auto pooling = io::read_pooling_config(folder);
  EncoderInfo info{
      .layers = config.layers,
      .hidden = config.hidden,
      .heads = config.heads,
      .intermediate = config.intermediate,
      .max_positions = config.max_tokens(),
      .model_type = std::string(config.family->model_type),
      .max_length = resolve_max_length(folder, options, config, tokenizer),
      .threads = options.threads.value_or(omp_get_num_procs()),
      .speedup = speedup,
      .precision = precision,
      .cost = cost,
      .exponents = options.exponents.value_or(settings.exponents),
      .floor = options.floor.value_or(settings.floor.value_or(0.0)),
      .classifier = false,
      .labels = {},
      .mean_pooling = pooling.mode == io::Pooling::kMean,
      .normalize = pooling.normalize,
  };
  check_exponents(info.exponents, info.layers,
                  options.exponents ? "options" : settings_file.c_str());
  check_floor(info.floor, options.floor ? "options" : settings_file.c_str());
  check_reachable({info.layers, info.hidden, info.intermediate}, info.max_length, speedup, cost,
                  info.exponents, info.floor, speedup_source);
  auto weights = model::load_weights(file, config, precision);
  info.classifier = weights.head.out.has_value();
  if (info.classifier) {
    info.labels = config.labels;
    for (int i = static_cast<int>(info.labels.size()); i < weights.num_labels(); ++i) {
      info.labels.push_back("LABEL_" + std::to_string(i));
    }
  }
  impl_ = std::unique_ptr<const Impl>(
      new Impl{std::move(info), std::move(tokenizer), std::move(weights), options.trace});
}

Encoder::~Encoder() = default;
Encoder::Encoder(Encoder&&) noexcept = default;
Encoder& Encoder::operator=(Encoder&&) noexcept = default;

const Tokenizer& Encoder::tokenizer() const { return impl_->tokenizer; }
const EncoderInfo& Encoder::info() const { return impl_->info; }

Schedule Encoder::schedule(int tokens, int batch) const {
  return make_schedule(impl_->shape(), tokens, impl_->info.speedup,
                       impl_->info.cost.in_batch(batch), impl_->info.exponents, impl_->info.floor);
}

CostModel Encoder::calibrate(int tokens) const {
  const EncoderInfo& info = impl_->info;
  if (tokens < 2 || tokens > info.max_positions) {
    throw Error(ErrorCode::kOption, "calibration length " + std::to_string(tokens) +
                                        " must lie in [2, max_position_embeddings]");
  }
  // Token values do not change the time; any text long enough to fill the input will do.
  std::string text;
  while (std::ssize(text) < 8 * tokens) text += "the cost of a layer on this machine ";
  const Encoding input = impl_->tokenizer.encode(text, tokens);
  const int n = static_cast<int>(input.ids.size());
  model::PackedBatch batch{input.ids, std::vector<std::int32_t>(input.ids.size(), 0), {0, n}};

  const ModelShape shape = impl_->shape();
  const Schedule dense = schedule_for_ratio(shape, n, 1.0),
                 fewest = schedule_for_ratio(shape, n, 0.0);
  const std::vector<std::vector<int>> dense_keep{dense.keep}, fewest_keep{fewest.keep};
  const CallThreads threads(info.threads);
  auto seconds = [&](const std::vector<std::vector<int>>& keep) {
    const auto start = std::chrono::steady_clock::now();
    model::forward(impl_->weights, batch, keep, false);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> dense_s, fewest_s;
  for (int round = 0; round < 110; ++round) {  // interleaved; the first rounds warm up
    const double d = seconds(dense_keep), f = seconds(fewest_keep);
    if (round >= 10) dense_s.push_back(d), fewest_s.push_back(f);
  }
  // t = (FLOPs + weight_flops * weights) / rate for both runs; two equations, two unknowns.
  const double dense_flops = layer_flops(shape, n, n) * info.layers;
  double fewest_flops = 0;
  int previous = n;
  for (int k : fewest.keep) fewest_flops += layer_flops(shape, previous, k), previous = k;
  const double t_dense = median(dense_s), t_fewest = median(fewest_s);
  if (!(t_dense > t_fewest)) return {};  // too noisy to tell: the FLOP model
  const double rate = (dense_flops - fewest_flops) / (t_dense - t_fewest);
  const double weights = layer_weights(shape) * info.layers;
  return {std::max(0.0, (t_fewest * rate - fewest_flops) / weights)};
}

Encoding Encoder::tokenize(std::string_view text) const {
  return impl_->tokenizer.encode(text, impl_->info.max_length);
}

Encoding Encoder::tokenize_pair(std::string_view first, std::string_view second) const {
  return impl_->tokenizer.encode_pair(first, second, impl_->info.max_length);
}

std::vector<EncoderOutput> Encoder::Impl::run(std::span<const Encoding> inputs) const {
  const auto start = std::chrono::steady_clock::now();
  const auto& c = weights.config;
  model::PackedBatch batch;
  std::vector<std::vector<int>> keep;
  std::vector<EncoderOutput> outputs(inputs.size());
  const CostModel call_cost = info.cost.in_batch(static_cast<int>(inputs.size()));
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
      const int type = e.type_ids.empty() ? 0 : e.type_ids[t];
      if (type < 0 || type >= std::max(c.type_vocab, 1)) {  // families without types take 0
        throw Error(ErrorCode::kInput, input_name(i) + ": type id " + std::to_string(type) +
                                           " at position " + std::to_string(t) +
                                           " is outside [0, type_vocab_size)");
      }
      batch.type_ids.push_back(type);
    }
    batch.ids.insert(batch.ids.end(), e.ids.begin(), e.ids.end());
    batch.offsets.push_back(batch.offsets.back() + n);
    keep.push_back(
        make_schedule(shape(), n, info.speedup, call_cost, info.exponents, info.floor).keep);
    outputs[i].run.tokens = n;
    outputs[i].run.truncated = e.truncated;
    outputs[i].run.kept = keep.back();
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
  model::ForwardResult result = model::forward(weights, batch, keep, trace);
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
    out.embedding.assign(d, 0.f);
    if (info.mean_pooling) {
      for (int r = 0; r < end - begin; ++r) {
        for (int j = 0; j < d; ++j)
          out.embedding[j] += out.hidden[static_cast<std::size_t>(r * d + j)];
      }
      for (float& v : out.embedding) v /= static_cast<float>(end - begin);
    } else {
      std::copy_n(out.hidden.begin(), d, out.embedding.begin());
    }
    if (info.normalize) kernels::loops().l2_normalize(out.embedding.data(), 1, d);
    if (!logits.empty()) {
      const auto labels = static_cast<std::size_t>(weights.num_labels());
      out.logits.assign(logits.begin() + static_cast<std::int64_t>(i * labels),
                        logits.begin() + static_cast<std::int64_t>((i + 1) * labels));
    }
    if (trace) {
      out.run.trace = std::move(result.trace[i]);
    }
    out.run.ms = ms;
  }
  return outputs;
}

std::vector<EncoderOutput> Encoder::run(std::span<const Encoding> inputs) const {
  return impl_->run(inputs);
}

namespace {

std::vector<Encoding> tokenize_all(const Encoder& encoder, std::span<const std::string> texts) {
  std::vector<Encoding> encodings;
  encodings.reserve(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    try {
      encodings.push_back(encoder.tokenize(texts[i]));
    } catch (const Error& e) {
      throw Error(e.code(), "text " + std::to_string(i) + ": " + e.what());
    }
  }
  return encodings;
}

// Fills probs (softmax of logits / temperature, or sigmoid) and the chosen label from logits.
void decide(Classification& c, bool multi_label, const std::vector<std::string>& names,
            float temperature = 1.f) {
  c.probs.resize(c.logits.size());
  if (multi_label) {
    for (std::size_t j = 0; j < c.logits.size(); ++j)
      c.probs[j] = 1.f / (1.f + std::exp(-c.logits[j]));
  } else {
    const float max = *std::max_element(c.logits.begin(), c.logits.end());
    float sum = 0;
    for (std::size_t j = 0; j < c.logits.size(); ++j) {
      sum += c.probs[j] = std::exp((c.logits[j] - max) / temperature);
    }
    for (float& p : c.probs) p /= sum;
  }
  c.label = static_cast<int>(std::max_element(c.logits.begin(), c.logits.end()) - c.logits.begin());
  c.label_name = names[static_cast<std::size_t>(c.label)];
}

}  // namespace

std::vector<Classification> Encoder::classify(std::span<const std::string> texts) const {
  if (!impl_->info.classifier) {
    throw Error(ErrorCode::kUnsupported,
                "this model folder has no classifier head (classifier.weight); use embed() or "
                "ZeroShotClassifier");
  }
  auto outputs = run(tokenize_all(*this, texts));
  std::vector<Classification> results(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    results[i].logits = std::move(outputs[i].logits);
    results[i].run = std::move(outputs[i].run);
    decide(results[i], impl_->weights.config.multi_label, impl_->info.labels);
  }
  return results;
}

std::vector<Embedding> Encoder::embed(std::span<const std::string> texts) const {
  auto outputs = run(tokenize_all(*this, texts));
  std::vector<Embedding> results(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    results[i].values = std::move(outputs[i].embedding);
    results[i].run = std::move(outputs[i].run);
  }
  return results;
}

ZeroShotClassifier::ZeroShotClassifier(std::shared_ptr<const Encoder> encoder,
                                       std::vector<Label> labels)
    : encoder_(std::move(encoder)), labels_(std::move(labels)) {
  if (!encoder_) throw Error(ErrorCode::kOption, "zero-shot classification needs an encoder");
  if (labels_.size() < 2)
    throw Error(ErrorCode::kOption, "zero-shot classification needs two labels or more");
  std::vector<std::string> descriptions;
  for (const auto& l : labels_) descriptions.push_back(l.description);
  label_embeddings_ = encoder_->embed(descriptions);
}

std::vector<Classification> ZeroShotClassifier::classify(std::span<const std::string> texts) const {
  auto embeddings = encoder_->embed(texts);
  std::vector<std::string> names;
  for (const auto& l : labels_) names.push_back(l.name);
  auto cosine = [](const std::vector<float>& a, const std::vector<float>& b) {
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t j = 0; j < a.size(); ++j) {
      ab += double{a[j]} * b[j];
      aa += double{a[j]} * a[j];
      bb += double{b[j]} * b[j];
    }
    return static_cast<float>(ab / std::max(std::sqrt(aa * bb), 1e-12));
  };
  constexpr float kTemperature = 0.05f;
  std::vector<Classification> results(embeddings.size());
  for (std::size_t i = 0; i < embeddings.size(); ++i) {
    Classification& c = results[i];
    c.run = std::move(embeddings[i].run);
    for (const auto& l : label_embeddings_)
      c.logits.push_back(cosine(embeddings[i].values, l.values));
    decide(c, false, names, kTemperature);
  }
  return results;
}

}  // namespace lat
