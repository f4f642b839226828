#pragma once

#include <vector>

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

// FLOPs of one layer taking m rows in and keeping k: QKV, scores, P V, output, feed-forward.
double layer_flops(const ModelShape& shape, double m, double k);

// The geometric schedule with the largest r whose predicted speedup reaches `speedup` (>= 1).
// When no r does, every layer keeps 1 row, ratio is 0 and reached is false.
Schedule make_schedule(const ModelShape& shape, int tokens, double speedup);

// The schedule a given ratio r produces, with its predicted speedup.
Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio);

}  // namespace lat
