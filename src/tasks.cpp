// The tasks on top of a run: pooling, classification of texts and pairs, reranking, embedding,
// zero-shot classification.
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

// Each input tokenized by `encode`; an error names the input (`what` i).
template <typename T, typename F>
std::vector<Encoding> tokenize_all(std::span<const T> inputs, const char* what, F encode) {
  std::vector<Encoding> encodings;
  encodings.reserve(inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    try {
      encodings.push_back(encode(inputs[i]));
    } catch (const Error& e) {
      throw Error(e.code(), std::string(what) + " " + std::to_string(i) + ": " + e.what());
    }
  }
  return encodings;
}

// The chosen label: the largest logit's.
void choose_label(Classification& c, const std::vector<std::string>& names) {
  c.label = static_cast<int>(std::max_element(c.logits.begin(), c.logits.end()) - c.logits.begin());
  c.label_name = names[static_cast<std::size_t>(c.label)];
}

// The classifier head's results of tokenized inputs.
std::vector<Classification> classified(const Encoder& encoder, std::span<const Encoding> encodings,
                                       const std::optional<Policy>& policy) {
  const EncoderInfo& info = encoder.info();
  if (!info.classifier) {
    throw Error(ErrorCode::kUnsupported,
                "this model folder has no classifier head (classifier.weight); use embed() or "
                "ZeroShotClassifier");
  }
  auto outputs = encoder.run(encodings, policy);
  std::vector<Classification> results(outputs.size());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    results[i].logits = std::move(outputs[i].logits);
    results[i].run = std::move(outputs[i].run);
    results[i].probs = activate(info.activation, results[i].logits);
    choose_label(results[i], info.labels);
  }
  return results;
}

}  // namespace

std::vector<Classification> Encoder::classify(std::span<const std::string> texts,
                                              const std::optional<Policy>& policy) const {
  return classified(*this,
                    tokenize_all(texts, "text", [&](const std::string& t) { return tokenize(t); }),
                    policy);
}

std::vector<Classification> Encoder::classify(std::span<const TextPair> pairs,
                                              const std::optional<Policy>& policy) const {
  return classified(
      *this,
      tokenize_all(pairs, "pair",
                   [&](const TextPair& p) { return tokenize_pair(p.first, p.second); }),
      policy);
}

std::vector<RankedDocument> Encoder::rerank(std::string_view query,
                                            std::span<const std::string> documents,
                                            std::optional<int> top_k,
                                            const std::optional<Policy>& policy) const {
  if (impl_->info.classifier && impl_->info.labels.size() != 1) {
    throw Error(ErrorCode::kUnsupported,
                "rerank needs a cross-encoder, a classifier head of one logit; this one has " +
                    std::to_string(impl_->info.labels.size()));
  }
  if (top_k && *top_k < 1) {
    throw Error(ErrorCode::kOption, "top_k must be at least 1, not " + std::to_string(*top_k));
  }
  const auto scored =
      classified(*this,
                 tokenize_all(documents, "document",
                              [&](const std::string& d) { return tokenize_pair(query, d); }),
                 policy);
  std::vector<RankedDocument> ranked(scored.size());
  for (std::size_t i = 0; i < scored.size(); ++i) {
    ranked[i] = {scored[i].run, static_cast<int>(i), scored[i].probs[0]};
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.score > b.score; });
  if (top_k && static_cast<std::size_t>(*top_k) < ranked.size())
    ranked.resize(static_cast<std::size_t>(*top_k));
  return ranked;
}

std::vector<Embedding> Encoder::embed(std::span<const std::string> texts,
                                      const std::optional<Policy>& policy) const {
  auto outputs =
      run(tokenize_all(texts, "text", [&](const std::string& t) { return tokenize(t); }), policy);
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
    std::vector<float> scaled;
    for (const auto& l : label_embeddings_) {
      c.logits.push_back(cosine(embeddings[i].values, l.values));
      scaled.push_back(c.logits.back() / kTemperature);
    }
    c.probs = activate(HeadActivation::kSoftmax, scaled);
    choose_label(c, names);
  }
  return results;
}

}  // namespace lat
