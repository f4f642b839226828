#include "lat/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "lat/error.hpp"
#include "lat/policy.hpp"
#include "number_text.hpp"
#include "policy_checks.hpp"

namespace lat {

namespace {

// The feed-forward's matrices of d x dff: in and out, and a gate.
double ffn_matrices(const ModelShape& s) { return s.gated ? 3 : 2; }

}  // namespace

double layer_flops(const ModelShape& s, double m, double k) {
  const double d = s.hidden, dff = s.intermediate;
  return 6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d +
         2 * ffn_matrices(s) * k * d * dff;
}

double layer_weights(const ModelShape& s) {
  const double d = s.hidden, dff = s.intermediate;
  return 4 * d * d + ffn_matrices(s) * d * dff;
}

double layer_cost(const ModelShape& shape, double m, double k, const CostModel& cost) {
  return layer_flops(shape, m, k) + cost.weight_flops * layer_weights(shape) / cost.batch +
         cost.attention_flops * m * m + cost.input_flops;
}

double pass_cost(const ModelShape& shape, int tokens, std::span<const int> keep,
                 const CostModel& cost) {
  double total = 0;
  int previous = tokens;
  for (int k : keep) {
    total += layer_cost(shape, previous, k, cost);
    previous = k;
  }
  return total;
}

namespace checks {

std::string exponents_problem(KeepExponents exponents) {
  double previous = 0.0;
  for (std::size_t l = 0; l < exponents.size(); ++l) {
    const double w = exponents[l];
    if (!std::isfinite(w) || w < previous) {
      return "exponents must be finite, >= 0 and non-decreasing; value " + std::to_string(l + 1) +
             " is " + number_text(w);
    }
    previous = w;
  }
  return {};
}

std::string exponents_count_problem(KeepExponents exponents, int layers) {
  if (exponents.empty() || std::ssize(exponents) == layers) return {};
  return "exponents give " + std::to_string(exponents.size()) + " values for a model of " +
         std::to_string(layers) + " layers";
}

std::string speedup_problem(double speedup) {
  if (std::isfinite(speedup) && speedup >= 1.0) return {};
  return "speedup " + number_text(speedup) + " must be a finite number >= 1";
}

std::string floor_problem(double floor) {
  if (floor >= 0.0 && floor < 1.0) return {};
  return "floor " + number_text(floor) + " must lie in [0, 1)";
}

std::string cost_problem(const CostModel& cost) {
  if (!std::isfinite(cost.weight_flops) || cost.weight_flops < 0.0) {
    return "weight_flops " + number_text(cost.weight_flops) + " must be a finite number >= 0";
  }
  if (!std::isfinite(cost.attention_flops) || cost.attention_flops < 0.0) {
    return "attention_flops " + number_text(cost.attention_flops) + " must be a finite number >= 0";
  }
  if (!std::isfinite(cost.input_flops) || cost.input_flops < 0.0) {
    return "input_flops " + number_text(cost.input_flops) + " must be a finite number >= 0";
  }
  if (cost.batch < 1) return "cost model batch " + std::to_string(cost.batch) + " must be >= 1";
  return {};
}

void check_policy(double speedup, KeepExponents exponents, double floor, const CostModel& cost) {
  for (const std::string& problem : {speedup_problem(speedup), exponents_problem(exponents),
                                     floor_problem(floor), cost_problem(cost)}) {
    fail_if(problem, "");
  }
}

void fail_if(const std::string& problem, const std::string& source) {
  if (problem.empty()) return;
  throw Error(ErrorCode::kOption, source.empty() ? problem : source + ": " + problem);
}

}  // namespace checks

void check_exponents(KeepExponents exponents, int layers, const char* source) {
  checks::fail_if(checks::exponents_count_problem(exponents, layers), source);
  checks::fail_if(checks::exponents_problem(exponents), source);
}

int floor_rows(int tokens, double floor) {
  if (floor <= 0.0) return 1;
  return std::min(tokens, std::max(2, static_cast<int>(std::ceil(floor * tokens))));
}

void check_floor(double floor, const char* source) {
  checks::fail_if(checks::floor_problem(floor), source);
}

namespace checks {

namespace {

// The cost of the pass that the schedule for `ratio` runs, summed layer by layer as the pass is;
// its keep counts go to `keep` where it is given. Bisection calls it some 66 times per input, and
// it allocates nothing.
double cost_at_ratio(const ModelShape& shape, int tokens, double ratio, const CostModel& cost,
                     KeepExponents exponents, double floor, int* keep) {
  const double fewest = floor_rows(tokens, floor);
  double total = 0;
  int previous = tokens;
  for (int l = 1; l <= shape.layers; ++l) {
    const double w = exponents.empty() ? l : exponents[static_cast<std::size_t>(l - 1)];
    const double target = std::ceil(tokens * std::pow(ratio, w));
    const int k = std::min(previous, static_cast<int>(std::max(fewest, target)));
    total += layer_cost(shape, previous, k, cost);
    if (keep != nullptr) keep[l - 1] = k;
    previous = k;
  }
  return total;
}

double dense_cost(const ModelShape& shape, int tokens, const CostModel& cost) {
  double dense = 0;  // summed layer by layer, as the pruned pass is
  for (int l = 0; l < shape.layers; ++l) dense += layer_cost(shape, tokens, tokens, cost);
  return dense;
}

}  // namespace

// The schedule for a ratio, on values already checked.
Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                            const CostModel& cost, KeepExponents exponents, double floor) {
  Schedule s;
  s.ratio = ratio;
  s.keep.resize(static_cast<std::size_t>(shape.layers));
  s.predicted = dense_cost(shape, tokens, cost) /
                cost_at_ratio(shape, tokens, ratio, cost, exponents, floor, s.keep.data());
  return s;
}

// The schedule with the largest r whose predicted speedup reaches `speedup`, on checked values.
Schedule make_schedule(const ModelShape& shape, int tokens, double speedup, const CostModel& cost,
                       KeepExponents exponents, double floor) {
  if (tokens < 1) throw Error(ErrorCode::kInput, "a schedule needs at least one token");
  const double dense = dense_cost(shape, tokens, cost);
  const auto reaches = [&](double ratio) {
    return dense / cost_at_ratio(shape, tokens, ratio, cost, exponents, floor, nullptr) >= speedup;
  };
  const auto at = [&](double ratio) {
    return checks::schedule_for_ratio(shape, tokens, ratio, cost, exponents, floor);
  };
  if (reaches(1.0)) return at(1.0);
  if (!reaches(0.0)) {
    Schedule fastest = at(0.0);
    fastest.reached = false;
    return fastest;
  }
  // predicted speedup falls as r rises; keep lo where it still reaches the asked one
  double lo = 0.0, hi = 1.0;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (reaches(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return at(lo);
}

}  // namespace checks

Schedule schedule_for_ratio(const ModelShape& shape, int tokens, double ratio,
                            const CostModel& cost, KeepExponents exponents, double floor) {
  check_exponents(exponents, shape.layers, "schedule");
  check_floor(floor, "schedule");
  return checks::schedule_for_ratio(shape, tokens, ratio, cost, exponents, floor);
}

Schedule make_schedule(const ModelShape& shape, int tokens, double speedup, const CostModel& cost,
                       KeepExponents exponents, double floor) {
  checks::check_policy(speedup, exponents, floor, cost);  // without copying exponents into one
  checks::fail_if(checks::exponents_count_problem(exponents, shape.layers), "schedule");
  return checks::make_schedule(shape, tokens, speedup, cost, exponents, floor);
}

Policy::Policy(double speedup, std::vector<double> exponents, double floor, CostModel cost)
    : speedup_(speedup), exponents_(std::move(exponents)), floor_(floor), cost_(cost) {
  checks::check_policy(speedup_, exponents_, floor_, cost_);
}

Schedule Policy::schedule(const ModelShape& shape, int tokens, int batch) const {
  checks::fail_if(checks::exponents_count_problem(exponents_, shape.layers), "policy");
  return checks::make_schedule(shape, tokens, speedup_, cost_.in_batch(batch), exponents_, floor_);
}

std::string to_string(const Policy& p) {
  std::string out = "speedup " + number_text(p.speedup());
  if (!p.exponents().empty()) {
    out += ", exponents [";
    for (std::size_t l = 0; l < p.exponents().size(); ++l)
      out += (l ? ", " : "") + number_text(p.exponents()[l]);
    out += "]";
  }
  if (p.floor() > 0) out += ", floor " + number_text(p.floor());
  if (p.cost() != CostModel{.batch = p.cost().batch}) out += ", " + to_string(p.cost());
  return out;
}

std::string to_string(const CostModel& cost) {
  std::string out;
  for (const auto& [name, value] : {std::pair{"weight_flops", cost.weight_flops},
                                    std::pair{"attention_flops", cost.attention_flops},
                                    std::pair{"input_flops", cost.input_flops}}) {
    if (value > 0) out += (out.empty() ? "" : ", ") + std::string(name) + " " + number_text(value);
  }
  return out.empty() ? "the FLOP count" : out;
}

}  // namespace lat
