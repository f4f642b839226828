#pragma once

#include <vector>

#include "lat/export.hpp"

namespace lat {

// What the cost model needs of a model: L layers of width d with feed-forward width dff.
struct ModelShape {
  int layers = 0;
  int hidden = 0;
  int intermediate = 0;
};

// Keep counts for one input length and one asked speedup (DESIGN.md, section 2).
struct Schedule {
  std::vector<int> keep;   // k_1..k_L: rows that leave each layer
  double ratio = 1.0;      // r: k_l = min(k_{l-1}, max(1, ceil(n r^l)))
  double predicted = 1.0;  // predicted speedup of this schedule over the dense model
  bool reached = true;     // false when even k_l = 1 everywhere cannot reach the asked speedup
};

// What a layer costs. By default its FLOPs (DESIGN.md, section 2). Where a layer's weights do not
// stay in cache, reading them takes time that does not shrink with the rows, and at few rows it
// dominates; `weight_flops` adds it: reading one weight costs as much as that many FLOPs.
// Encoder::calibrate measures it on the machine at hand; lat.json may carry it.
struct CostModel {
  double weight_flops = 0.0;  // >= 0; 0 is the FLOP model
};

// FLOPs of one layer taking m rows in and keeping k: QKV, scores, P V, output, feed-forward.
LAT_EXPORT double layer_flops(const ModelShape& shape, double m, double k);

// Weights of one layer's matrix products: QKV, output, feed-forward in and out.
LAT_EXPORT double layer_weights(const ModelShape& shape);

// layer_flops plus, under a calibrated model, the reading of the layer's weights.
LAT_EXPORT double layer_cost(const ModelShape& shape, double m, double k,
                             const CostModel& cost = {});

// The geometric schedule with the largest r whose predicted speedup reaches `speedup` (>= 1).
// When no r does, every layer keeps 1 row, ratio is 0 and reached is false.
LAT_EXPORT Schedule make_schedule(const ModelShape& shape, int tokens, double speedup,
                                  const CostModel& cost = {});

// The schedule a given ratio r produces, with its predicted speedup.
LAT_EXPORT Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                                       const CostModel& cost = {});

}  // namespace lat
