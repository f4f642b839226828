#include "lat/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "lat/error.hpp"

namespace lat {

double layer_flops(const ModelShape& s, double m, double k) {
  const double d = s.hidden, dff = s.intermediate;
  return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 4 * k * d * dff;
}

Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio) {
  Schedule s;
  s.ratio = ratio;
  s.keep.resize(static_cast<std::size_t>(shape.layers));
  double dense = 0, pruned = 0;
  int previous = tokens;
  for (int l = 1; l <= shape.layers; ++l) {
    const double target = std::ceil(tokens * std::pow(ratio, l));
    const int k = std::min(previous, static_cast<int>(std::max(1.0, target)));
    dense += layer_flops(shape, tokens, tokens);
    pruned += layer_flops(shape, previous, k);
    s.keep[static_cast<std::size_t>(l - 1)] = k;
    previous = k;
  }
  s.predicted = dense / pruned;
  return s;
}

Schedule make_schedule(const ModelShape& shape, int tokens, double speedup) {
  if (!(speedup >= 1.0) || !std::isfinite(speedup)) {
    throw Error(ErrorCode::kOption,
                "speedup " + std::to_string(speedup) + " is not a finite number >= 1");
  }
  if (tokens < 1) throw Error(ErrorCode::kInput, "a schedule needs at least one token");
  Schedule dense = schedule_for_ratio(shape, tokens, 1.0);
  if (dense.predicted >= speedup) return dense;
  Schedule fastest = schedule_for_ratio(shape, tokens, 0.0);
  if (fastest.predicted < speedup) {
    fastest.reached = false;
    return fastest;
  }
  // predicted speedup falls as r rises; keep lo where it still reaches the asked one
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (schedule_for_ratio(shape, tokens, mid).predicted >= speedup) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return schedule_for_ratio(shape, tokens, lo);
}

}  // namespace lat
