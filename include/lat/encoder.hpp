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
#include "lat/precision.hpp"
#include "lat/schedule.hpp"
#include "lat/tokenizer.hpp"

namespace lat {

struct EncoderOptions {
  std::optional<int> threads;          // threads per call, >= 1; unset: every core
  int max_length = 0;                  // tokens per input, specials included; 0: the model folder's
  std::optional<double> speedup;       // >= 1; unset: lat.json in the model folder, else 1 (dense)
  std::optional<Precision> precision;  // unset: lat.json's, else fp32
  // The schedule's cost model; unset: lat.json's when it was measured at this precision, else
  // the FLOP count.
  std::optional<CostModel> cost;
  // Where the schedule cuts (lat/schedule.hpp): one exponent per layer; unset: lat.json's, else
  // DESIGN.md's geometric schedule.
  std::optional<std::vector<double>> exponents;
  // The fewest rows a layer keeps, as a fraction of the input (lat/schedule.hpp, floor_rows);
  // unset: lat.json's, else 0, DESIGN.md's one row.
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
  double speedup = 1.0;  // the knob in force
  Precision precision = Precision::kFp32;
  CostModel cost;                   // the cost model the schedule uses
  std::vector<double> exponents;    // the schedule's keep exponents; empty: geometric
  double floor = 0.0;               // the schedule's row floor; 0: one row
  bool classifier = false;          // BertForSequenceClassification head present
  std::vector<std::string> labels;  // label names in id order (classifier only)
  bool mean_pooling = false;        // embeddings: mean of rows, else the [CLS] row
  bool normalize = false;           // embeddings are L2-normalised
};

// One layer's view of one input, when EncoderOptions::trace is set.
struct LayerTrace {
  std::vector<float> acc;  // ACC of each row that entered the layer, in that order
  std::vector<int> kept;   // original positions of the rows that left the layer
};

// What every result carries, as its member `run`.
struct RunInfo {
  int tokens = 0;          // tokens that entered the encoder, [CLS] and [SEP] included
  bool truncated = false;  // the text was cut to max_length
  std::vector<int> kept;   // rows kept by each layer
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
  int label = 0;
  std::string label_name;
  std::vector<float> probs;  // softmax of logits (sigmoid for multi-label models)
  std::vector<float> logits;
};

struct Embedding {
  RunInfo run;
  std::vector<float> values;
};

// An encoder (any family of README's table) loaded from a Hugging Face model folder. Immutable
// after construction; every method may be called from many threads at once.
class LAT_EXPORT Encoder {
 public:
  explicit Encoder(const std::filesystem::path& folder, const EncoderOptions& options = {});
  ~Encoder();
  Encoder(Encoder&&) noexcept;
  Encoder& operator=(Encoder&&) noexcept;

  // Texts in UTF-8; inputs run together as one packed batch.
  std::vector<Classification> classify(std::span<const std::string> texts) const;
  std::vector<Embedding> embed(std::span<const std::string> texts) const;
  // Pre-tokenised inputs (ids with [CLS] first; type ids empty for all zeros).
  std::vector<EncoderOutput> run(std::span<const Encoding> inputs) const;

  Encoding tokenize(std::string_view text) const;
  Encoding tokenize_pair(std::string_view first, std::string_view second) const;
  const Tokenizer& tokenizer() const;
  const EncoderInfo& info() const;
  // The keep counts this encoder uses for an input of `tokens` tokens in a call of `batch` inputs
  // (the batch matters under a calibrated cost model only: its inputs share the weights' reading).
  Schedule schedule(int tokens, int batch = 1) const;
  // Measures this machine's cost model for this model and thread count: times the dense model
  // and the most pruned one (one row after the first layer) on an input of `tokens` tokens and
  // solves for the sustained FLOP rate and the cost of reading a weight. Takes 110 runs of each;
  // the encoder's own settings are left as they are. Calibrate with the thread count you deploy.
  CostModel calibrate(int tokens = 128) const;

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
  ZeroShotClassifier(std::shared_ptr<const Encoder> encoder, std::vector<Label> labels);
  // logits are the cosine similarities; probs their softmax at temperature 0.05.
  std::vector<Classification> classify(std::span<const std::string> texts) const;
  const std::vector<Label>& labels() const { return labels_; }
  const Encoder& encoder() const { return *encoder_; }

 private:
  std::shared_ptr<const Encoder> encoder_;
  std::vector<Label> labels_;
  std::vector<Embedding> label_embeddings_;
};

}  // namespace lat
