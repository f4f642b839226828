// The tasks on top of a run: pooling, classification, embedding, zero-shot classification.
#include <algorithm>
#include <cmath>

#include "encoder_impl.hpp"
#include "kernels/cpu/loops.hpp"
#include "lat/error.hpp"

namespace lat {

std::vector<float> pooled(const EncoderInfo& info, std::span<const float> rows) {
  const int d = info.hidden;
  const auto n = static_cast<int>(rows.size() / static_cast<std::size_t>(d));
  std::vector<float> embedding(static_cast<std::size_t>(d), 0.f);
  if (info.mean_pooling) {
    for (int r = 0; r < n; ++r) {
      for (int j = 0; j < d; ++j) embedding[j] += rows[static_cast<std::size_t>(r * d + j)];
    }
    for (float& v : embedding) v /= static_cast<float>(n);
  } else {
    std::copy_n(rows.begin(), d, embedding.begin());
  }
  if (info.normalize) kernels::loops().l2_normalize(embedding.data(), 1, d);
  return embedding;
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

std::vector<Classification> Encoder::classify(std::span<const std::string> texts,
                                              const std::optional<Policy>& policy) const {
  if (!impl_->info.classifier) {
    throw Error(ErrorCode::kUnsupported,
                "this model folder has no classifier head (classifier.weight); use embed() or "
                "ZeroShotClassifier");
  }
  auto outputs = run(tokenize_all(*this, texts), policy);
  std::vector<Classification> results(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    results[i].logits = std::move(outputs[i].logits);
    results[i].run = std::move(outputs[i].run);
    decide(results[i], impl_->weights.config.multi_label, impl_->info.labels);
  }
  return results;
}

std::vector<Embedding> Encoder::embed(std::span<const std::string> texts,
                                      const std::optional<Policy>& policy) const {
  auto outputs = run(tokenize_all(*this, texts), policy);
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

std::vector<Classification> ZeroShotClassifier::classify(
    std::span<const std::string> texts, const std::optional<Policy>& policy) const {
  auto embeddings = encoder_->embed(texts, policy);
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
