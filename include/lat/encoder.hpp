#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lat/export.hpp"
#include "lat/head.hpp"
#include "lat/policy.hpp"
#include "lat/precision.hpp"
#include "lat/schedule.hpp"
#include "lat/settings.hpp"
#include "lat/tokenizer.hpp"

namespace lat {

struct EncoderOptions {
  std::optional<int> threads;  // threads per call, >= 1; unset: every core
  int max_length = 0;          // tokens per input, specials included; 0: the model folder's
  // The encoder's own schedule policy (lat/policy.hpp) is speedup, cost, exponents and floor.
  std::optional<double> speedup;       // >= 1; unset: lat.json in the model folder, else 1 (dense)
  std::optional<Precision> precision;  // unset: lat.json's, else fp32
  // The schedule's cost model; unset: lat.json's when it was measured at this precision, else
  // the FLOP count.
  std::optional<CostModel> cost;
  // Where the schedule cuts (lat/schedule.hpp): one exponent per layer; unset: lat.json's for the
  // speedup (its tuned curve), else the geometric schedule (docs/design.md).
  std::optional<std::vector<double>> exponents;
  // The fewest rows a layer keeps, as a fraction of the input (lat/schedule.hpp, floor_rows);
  // unset: lat.json's, else 0, one row.
  std::optional<double> floor;
  bool trace = false;  // record ACC and kept positions of every layer
};

// How the encoder behaves, as built from the folder and the options.
struct EncoderInfo {
  int layers = 0, hidden = 0, heads = 0, intermediate = 0;
  int max_positions = 0;   // the longest input the position embeddings cover
  std::string model_type;  // config.json's: bert, roberta, xlm-roberta, distilbert, electra, mpnet
  int max_length = 0;      // tokens per input after truncation
  int threads = 0;
  Precision precision = Precision::kFp32;
  Policy policy;                    // the encoder's own: the knob in force and its schedule
  std::vector<TunedPoint> curve;    // lat.json's tuned curve; empty when not tuned
  bool classifier = false;          // BertForSequenceClassification head present
  std::vector<std::string> labels;  // label names in id order (classifier only)
  // The head's activation as the folder says (classifier only; docs/design.md, "Heads"):
  // sentence-transformers' saved choice, else identity for regression, the sigmoid for
  // multi-label heads and for one logit, else softmax.
  HeadActivation activation = HeadActivation::kSoftmax;
  bool mean_pooling = false;  // embeddings: mean of rows, else the [CLS] row
  bool normalize = false;     // embeddings are L2-normalised
};

// One layer's view of one input, when EncoderOptions::trace is set.
struct LayerTrace {
  std::vector<float> acc;      // ACC of each row that entered the layer, in that order
  std::vector<int> positions;  // original positions of the rows that left the layer
};

// What every result carries, as its member `run`.
struct RunInfo {
  int tokens = 0;          // tokens that entered the encoder, [CLS] and [SEP] included
  bool truncated = false;  // the text was cut to max_length
  std::vector<int> kept;   // how many rows each layer kept
  double speedup = 1.0;    // the speedup of the policy that ran it
  double ms = 0;           // wall time of the call that produced this result
  std::vector<LayerTrace> trace;
};

// Last hidden states of an input (its kept rows) and its pooled embedding.
struct EncoderOutput {
  RunInfo run;
  std::vector<float> hidden;     // rows x hidden, row-major
  std::vector<int> positions;    // original position of each row of hidden
  std::vector<float> embedding;  // pooled as the model folder says (normalised if it says so)
  std::vector<float> logits;     // classifier models only
};

struct Classification {
  RunInfo run;
  int label = 0;  // the largest logit's
  std::string label_name;
  std::vector<float> probs;  // the logits through the head's activation (EncoderInfo::activation)
  std::vector<float> logits;
};

// Two texts read as one input, as a cross-encoder reads a query and a document.
struct TextPair {
  std::string first, second;
};

// One document of a rerank: its index among the documents and its score, the head's one logit
// through the head's activation.
struct RankedDocument {
  RunInfo run;
  int index = 0;
  float score = 0;
};

struct Embedding {
  RunInfo run;
  std::vector<float> values;
};

// Compiled kernels the process keeps, for all its encoders together (oneDNN's primitive cache).
// Each product shape is one: a batch's row count, a layer's rows in and rows kept. The default,
// 16,384, holds what inputs of every length need under pruning, unless
// ONEDNN_PRIMITIVE_CACHE_CAPACITY is set. A server meets new shapes with almost every batch: a
// smaller cache bounds its resident memory, at the price of compiling again the kernels it
// evicts. An Error (kOption) below 0.
LAT_EXPORT void set_kernel_cache_capacity(int kernels);
LAT_EXPORT int kernel_cache_capacity();

// An encoder (any family of README's table) loaded from a Hugging Face model folder. Immutable
// after construction; every method may be called from many threads at once.
class LAT_EXPORT Encoder {
 public:
  explicit Encoder(const std::filesystem::path& folder, const EncoderOptions& options = {});
  ~Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;

  // Texts in UTF-8; inputs run together as one packed batch, under `policy` when given, else
  // under the encoder's own.
  std::vector<Classification> classify(std::span<const std::string> texts,
                                       const std::optional<Policy>& policy = {}) const;
  // Pairs, each tokenized as the folder's tokenizer joins two texts, longest first cut to
  // max_length: the scores of a cross-encoder (probs: its one logit through the activation).
  std::vector<Classification> classify(std::span<const TextPair> pairs,
                                       const std::optional<Policy>& policy = {}) const;
  // The documents by their score against the query, highest first (ties in document order),
  // the best `top_k` of them (unset: all). Needs a head of one logit.
  std::vector<RankedDocument> rerank(std::string_view query, std::span<const std::string> documents,
                                     std::optional<int> top_k = {},
                                     const std::optional<Policy>& policy = {}) const;
  std::vector<Embedding> embed(std::span<const std::string> texts,
                               const std::optional<Policy>& policy = {}) const;
  // Pre-tokenised inputs (ids with [CLS] first; type ids empty for all zeros).
  std::vector<EncoderOutput> run(std::span<const Encoding> inputs,
                                 const std::optional<Policy>& policy = {}) const;

  // The encoder's own policy: from the options, then lat.json, then dense.
  const Policy& policy() const;
  // The policy an encoder built on this folder with these options would have, with `speedup`
  // (unset: this encoder's) and, where given, `exponents` and `floor` in place of the options':
  // lat.json's tuned curve gives the exponents for the speedup (docs/design.md). Throws where no
  // input of the maximum length reaches the speedup. A call under policy(s) gives exactly what an
  // encoder built with speedup s gives.
  Policy policy(std::optional<double> speedup, std::optional<std::vector<double>> exponents = {},
                std::optional<double> floor = {}) const;

  Encoding tokenize(std::string_view text) const;
  Encoding tokenize_pair(std::string_view first, std::string_view second) const;
  const Tokenizer& tokenizer() const;
  const EncoderInfo& info() const;
  // The keep counts this encoder's own policy gives an input of `tokens` tokens in a call of
  // `batch` inputs (the batch matters under a calibrated cost model only: its inputs share the
  // weights' reading). policy().schedule(...) with the model's shape, as a call computes it.
  Schedule schedule(int tokens, int batch = 1) const;
  ModelShape shape() const;
  // Measures this machine's cost model for this model and thread count: times the dense model,
  // every layer at half the rows, and the most pruned one (one row after the first layer) on
  // inputs of `tokens` tokens and of four times as many (up to the maximum length), and fits the
  // sustained FLOP rate, the cost of reading a weight and the attention's own cost
  // (lat/schedule.hpp, CostModel) to them. Takes 90 runs of each; the encoder's own settings are
  // left as they are. Calibrate with the thread count you deploy.
  CostModel calibrate(int tokens = 128) const;
  // int8-static's activation ranges (docs/design.md, "int8-static") from the dense passes of
  // `texts` through this encoder, which must run fp32: for each input of each layer's products,
  // each column's smoothing against its weights, the columns far beyond the others (at most 4)
  // that pass exactly, and the range of the others, their extremes scaled to the least squared
  // error over the values seen. lat_tune writes them to lat.json; an encoder at
  // int8-static reads them there. Throws lat::Error (kUnsupported) at another precision, and
  // (kInput) without texts.
  Int8Ranges calibrate_ranges(std::span<const std::string> texts) const;

 private:
  struct LAT_HIDDEN Impl;
  std::unique_ptr<const Impl> impl_;
};

// Zero-shot classification with an embedding model: each label is described by a sentence,
// and a text takes the label whose description its embedding is closest to (cosine). The
// classifier shares ownership of its encoder, so that neither can outlive the other's use.
class LAT_EXPORT ZeroShotClassifier {
 public:
  struct Label {
    std::string name;
    std::string description;
  };
  // The labels' descriptions are embedded under the encoder's own policy.
  ZeroShotClassifier(std::shared_ptr<const Encoder> encoder, std::vector<Label> labels);
  // logits are the cosine similarities; probs their softmax at temperature 0.05.
  std::vector<Classification> classify(std::span<const std::string> texts,
                                       const std::optional<Policy>& policy = {}) const;
  const std::vector<Label>& labels() const { return labels_; }
  const Encoder& encoder() const { return *encoder_; }

 private:
  std::shared_ptr<const Encoder> encoder_;
  std::vector<Label> labels_;
  std::vector<Embedding> label_embeddings_;
};

}  // namespace lat
