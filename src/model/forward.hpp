#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/weights.hpp"

namespace lat::model {

// Sequences packed row after row, no padding: sequence s owns rows offsets[s]..offsets[s+1].
struct PackedBatch {
  std::vector<std::int32_t> ids;
  std::vector<std::int32_t> type_ids;
  std::vector<int> offsets{0};
};

// One layer's record of one sequence, when asked: the ACC of each row that entered the layer, in
// that order, and the original positions of the rows that left it.
struct LayerRecord {
  std::vector<float> acc;
  std::vector<int> positions;
};

struct ForwardResult {
  std::vector<float> hidden;                    // last layer's rows, packed
  std::vector<int> offsets;                     // per sequence, into hidden's rows
  std::vector<int> positions;                   // original position of each row of hidden
  std::vector<std::vector<LayerRecord>> trace;  // [sequence][layer], recorded only when asked
};

// The products of a layer, by the input they read, in the order of lat::LayerRanges.
enum class Product { kQkv, kOutput, kFfnIn, kFfnOut };

// Sees the input rows (rows x cols, packed) of every layer product as forward() makes them: how
// int8-static's ranges are calibrated, at fp32, where every input is fp32.
using InputObserver =
    std::function<void(int layer, Product product, const float* x, std::int64_t rows, int cols)>;

// The encoder of docs/design.md ("The pruned layer"): embeddings, then the pruned layer L times.
// keep[s][l] is how many rows sequence s keeps in layer l (its row count everywhere for the dense
// model).
ForwardResult forward(const Weights& weights, const PackedBatch& batch,
                      std::span<const std::vector<int>> keep, bool trace,
                      const InputObserver* observer = nullptr);

// Bytes of activations forward() needs for a batch (its per-thread workspace).
double workspace_bytes(const Config& config, const PackedBatch& batch);

// The head on each sequence's pooled row (its first, or the mean of its last rows where the
// config says): logits, sequence after sequence.
std::vector<float> classify_head(const Weights& weights, const ForwardResult& result);

}  // namespace lat::model
