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
  return layer_flops(shape, m, k) + cost.weight_flops * layer_weights(shape) / cost.batch;
}

void check_exponents(KeepExponents exponents, int layers, const char* source) {
  if (exponents.empty()) return;
  auto fail = [&](const std::string& why) {
    throw Error(ErrorCode::kOption, std::string(source) + ": exponents " + why);
  };
  if (std::ssize(exponents) != layers) {
    fail("give " + std::to_string(exponents.size()) + " values for a model of " +
         std::to_string(layers) + " layers");
  }
  double previous = 0.0;
  for (std::size_t l = 0; l < exponents.size(); ++l) {
    const double w = exponents[l];
    if (!std::isfinite(w) || w < previous) {
      fail("must be finite, >= 0 and non-decreasing; value " + std::to_string(l + 1) + " is " +
           number_text(w));
    }
    previous = w;
  }
}

int floor_rows(int tokens, double floor) {
  if (floor <= 0.0) return 1;
  return std::min(tokens, std::max(2, static_cast<int>(std::ceil(floor * tokens))));
}

void check_floor(double floor, const char* source) {
  if (!(floor >= 0.0 && floor < 1.0)) {
    throw Error(ErrorCode::kOption,
                std::string(source) + ": floor " + number_text(floor) + " must lie in [0, 1)");
  }
}

namespace {

// schedule_for_ratio on exponents already checked: bisection calls it some 66 times per input.
Schedule checked_schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                                    const CostModel& cost, KeepExponents exponents, double floor) {
  const double fewest = floor_rows(tokens, floor);
  Schedule s;
  s.ratio = ratio;
  s.keep.resize(static_cast<std::size_t>(shape.layers));
  double dense = 0, pruned = 0;
  int previous = tokens;
  for (int l = 1; l <= shape.layers; ++l) {
    const double w = exponents.empty() ? l : exponents[static_cast<std::size_t>(l - 1)];
    const double target = std::ceil(tokens * std::pow(ratio, w));
    const int k = std::min(previous, static_cast<int>(std::max(fewest, target)));
    dense += layer_cost(shape, tokens, tokens, cost);
    pruned += layer_cost(shape, previous, k, cost);
    s.keep[static_cast<std::size_t>(l - 1)] = k;
    previous = k;
  }
  s.predicted = dense / pruned;
  return s;
}

}  // namespace

Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                            const CostModel& cost, KeepExponents exponents, double floor) {
  check_exponents(exponents, shape.layers, "schedule");
  check_floor(floor, "schedule");
  return checked_schedule_for_ratio(shape, tokens, ratio, cost, exponents, floor);
}

Schedule make_schedule(const ModelShape& shape, int tokens, double speedup, const CostModel& cost,
                       KeepExponents exponents, double floor) {
  if (!(speedup >= 1.0) || !std::isfinite(speedup)) {
    throw Error(ErrorCode::kOption,
                "speedup " + number_text(speedup) + " is not a finite number >= 1");
  }
  if (tokens < 1) throw Error(ErrorCode::kInput, "a schedule needs at least one token");
  if (!(cost.weight_flops >= 0.0) || !std::isfinite(cost.weight_flops)) {
    throw Error(ErrorCode::kOption, "weight_flops " + std::to_string(cost.weight_flops) +
                                        " is not a finite number >= 0");
  }
  if (cost.batch < 1) {
    throw Error(ErrorCode::kOption,
                "cost model batch " + std::to_string(cost.batch) + " must be at least 1");
  }
  check_exponents(exponents, shape.layers, "schedule");
  check_floor(floor, "schedule");
  const auto at = [&](double ratio) {
    return checked_schedule_for_ratio(shape, tokens, ratio, cost, exponents, floor);
  };
  Schedule dense = at(1.0);
  if (dense.predicted >= speedup) return dense;
  Schedule fastest = at(0.0);
  if (fastest.predicted < speedup) {
    fastest.reached = false;
    return fastest;
  }
  // predicted speedup falls as r rises; keep lo where it still reaches the asked one
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (at(mid).predicted >= speedup) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return at(lo);
}

}  // namespace lat
