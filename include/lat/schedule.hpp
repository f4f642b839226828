#pragma once

#include <span>
#include <string>
#include <vector>

#include "lat/export.hpp"

namespace lat {

// What the cost model needs of a model: L layers of width d with feed-forward width dff.
struct ModelShape {
  int layers = 0;
  int hidden = 0;
  int intermediate = 0;
  // A gated feed-forward (GeGLU): its input product is two of intermediate wide, the
  // activation's half and the gate.
  bool gated = false;
};

// Keep counts for one input length and one asked speedup (docs/design.md, "The schedule").
struct Schedule {
  std::vector<int> keep;   // k_1..k_L: rows that leave each layer
  double ratio = 1.0;      // r: k_l = min(k_{l-1}, max(1, ceil(n r^(w_l))))
  double predicted = 1.0;  // predicted speedup of this schedule over the dense model
  bool reached = true;     // false when even the floor everywhere cannot reach the asked speedup
};

// What a layer costs. By default its FLOPs (docs/design.md, "The schedule"). Where a layer's
// weights do not stay in cache, reading them takes time that does not shrink with the rows, and at
// few rows it dominates; `weight_flops` adds it: reading one weight costs as much as that many
// FLOPs. Encoder::calibrate measures it on the machine at hand; lat.json may carry it.
//
// Inputs packed into one call share each reading of the weights: at `batch` inputs, each pays
// weight_flops / batch of it, so a batch is cut less than one input for the same speedup.
//
// Attention costs more than its FLOPs say: softmax, ACC and the selection read every score, and
// at low precision the products around them grow cheap. `attention_flops` adds, for each layer
// taking m rows, attention_flops * m^2: what one score (of all heads) costs beyond its FLOPs.
//
// Some of what a call pays whatever its rows is paid again for each input it packs: attention,
// selection and the gathering of kept rows are set up sequence by sequence. `input_flops` adds
// that to each input's layer, unshared.
struct CostModel {
  double weight_flops = 0.0;     // >= 0; 0 with the other terms 0 is the FLOP model
  int batch = 1;                 // >= 1: inputs in the call
  double attention_flops = 0.0;  // >= 0
  double input_flops = 0.0;      // >= 0: FLOPs each input's layer pays beyond its own
  CostModel in_batch(int inputs) const {
    CostModel c = *this;
    c.batch = inputs < 1 ? 1 : inputs;
    return c;
  }
  bool operator==(const CostModel&) const = default;
};

// "weight_flops 40, attention_flops 1800": the terms set, for messages and logs; "the FLOP count"
// where none is.
LAT_EXPORT std::string to_string(const CostModel& cost);

// FLOPs of one layer taking m rows in and keeping k: QKV, scores, P V, output, feed-forward.
// Local layers count as global ones: lat computes their scores whole and masks them.
LAT_EXPORT double layer_flops(const ModelShape& shape, double m, double k);

// Weights of one layer's matrix products: QKV, output, feed-forward in and out.
LAT_EXPORT double layer_weights(const ModelShape& shape);

// layer_flops plus, under a calibrated model, the reading of the layer's weights and the
// attention's own cost.
LAT_EXPORT double layer_cost(const ModelShape& shape, double m, double k,
                             const CostModel& cost = {});

// The cost of a pass over an input of `tokens` tokens whose layers keep `keep` rows.
LAT_EXPORT double pass_cost(const ModelShape& shape, int tokens, std::span<const int> keep,
                            const CostModel& cost = {});

// Where a schedule makes its cuts (docs/design.md, "The schedule"): layer l keeps the fraction
// r^(w_l) of the rows, with exponents 0 <= w_1 <= ... <= w_L, one per layer. No exponents is the
// design's geometric schedule, w_l = l; w_l = max(0, l - 1) spares the first layer.
using KeepExponents = std::span<const double>;

// An error naming `source` unless the exponents are empty or one per layer, finite, >= 0 and
// non-decreasing.
LAT_EXPORT void check_exponents(KeepExponents exponents, int layers, const char* source);

// The fewest rows a layer keeps of an input of `tokens` tokens: docs/design.md's one row when
// `floor` is 0; otherwise the fraction `floor` of them (rounded up) and at least 2, so that no
// input collapses to its [CLS] row where the asked speedup is out of its reach.
LAT_EXPORT int floor_rows(int tokens, double floor);

// An error naming `source` unless the floor lies in [0, 1).
LAT_EXPORT void check_floor(double floor, const char* source);

// The schedule with the largest r whose predicted speedup reaches `speedup` (>= 1); every layer
// keeps at least floor_rows(tokens, floor). When no r reaches it, ratio is 0 (every layer with
// w_l > 0 keeps the floor) and reached is false.
LAT_EXPORT Schedule make_schedule(const ModelShape& shape, int tokens, double speedup,
                                  const CostModel& cost = {}, KeepExponents exponents = {},
                                  double floor = 0.0);

// The schedule a given ratio r produces, with its predicted speedup.
LAT_EXPORT Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                                       const CostModel& cost = {}, KeepExponents exponents = {},
                                       double floor = 0.0);

}  // namespace lat
