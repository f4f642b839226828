#include "lat/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "lat/error.hpp"
#include "number_text.hpp"

namespace lat {

double layer_flops(const ModelShape& s, double m, double k) {
  const double d = s.hidden, dff = s.intermediate;
  return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 4 * k * d * dff;
}

double layer_weights(const ModelShape& s) {
  const double d = s.hidden, dff = s.intermediate;
  return 4 * d * d + 2 * d * dff;
}

double layer_cost(const ModelShape& shape, double m, double k, const CostModel& cost) {
  return layer_flops(shape, m, k) + cost.weight_flops * layer_weights(shape);
}

Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                            const CostModel& cost) {
  Schedule s;
  s.ratio = ratio;
  s.keep.resize(static_cast<std::size_t>(shape.layers));
  double dense = 0, pruned = 0;
  int previous = tokens;
  for (int l = 1; l <= shape.layers; ++l) {
    const double target = std::ceil(tokens * std::pow(ratio, l));
    const int k = std::min(previous, static_cast<int>(std::max(1.0, target)));
    dense += layer_cost(shape, tokens, tokens, cost);
    pruned += layer_cost(shape, previous, k, cost);
    s.keep[static_cast<std::size_t>(l - 1)] = k;
    previous = k;
  }
  s.predicted = dense / pruned;
  return s;
}

Schedule make_schedule(const ModelShape& shape, int tokens, double speedup, const CostModel& cost) {
  if (!(speedup >= 1.0) || !std::isfinite(speedup)) {
    throw Error(ErrorCode::kOption,
                "speedup " + number_text(speedup) + " is not a finite number >= 1");
  }
  if (tokens < 1) throw Error(ErrorCode::kInput, "a schedule needs at least one token");
  if (!(cost.weight_flops >= 0.0) || !std::isfinite(cost.weight_flops)) {
    throw Error(ErrorCode::kOption, "weight_flops " + std::to_string(cost.weight_flops) +
                                        " is not a finite number >= 0");
  }
  Schedule dense = schedule_for_ratio(shape, tokens, 1.0, cost);
  if (dense.predicted >= speedup) return dense;
  Schedule fastest = schedule_for_ratio(shape, tokens, 0.0, cost);
  if (fastest.predicted < speedup) {
    fastest.reached = false;
    return fastest;
  }
  // predicted speedup falls as r rises; keep lo where it still reaches the asked one
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (schedule_for_ratio(shape, tokens, mid, cost).predicted >= speedup) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return schedule_for_ratio(shape, tokens, lo, cost);
}

}  // namespace lat
