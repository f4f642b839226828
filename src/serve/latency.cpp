// The latency target: which speedup each batch runs at.
#include "latency.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <lat/error.hpp>
#include <lat/settings.hpp>
#include <sstream>

#include "api_error.hpp"

namespace lat::serve {

namespace {

constexpr double kDefaultCeiling = 3;
// The largest share of the time a choice may keep the batcher busy with the inputs arriving at the
// present rate: at 1 the queue grows without bound, and near it every burst leaves a backlog.
constexpr double kBusy = 0.9;
// Seconds the arrival rate averages over: long enough to smooth a Poisson stream of a few hundred
// inputs a second, short enough to follow a change of load.
constexpr double kWindow = 1.0;

std::string show(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A tuned point's quality in points: a classifier's accuracy (%), else recall@10 (%).
std::optional<double> quality(const TunedPoint& p) {
  if (p.accuracy) return p.accuracy;
  if (p.recall_at_10) return *p.recall_at_10 * 100;
  return std::nullopt;
}

// The largest speedup of the tuned curve within the accuracy budget lat_tune recorded, measured
// from the dense accuracy it recorded (else the curve's first point); without a budget, the knob
// lat_tune chose by it.
std::optional<double> budget_ceiling(const std::filesystem::path& folder, const EncoderInfo& info) {
  if (info.curve.empty()) return std::nullopt;
  const auto file = folder / "lat.json";
  const Settings settings = read_settings(file);
  const auto budget = settings.tuning ? settings.tuning->budget_points : std::nullopt;
  if (!budget) return settings.speedup;
  std::optional<double> reference = settings.tuning->dense_accuracy;
  if (!reference) reference = quality(info.curve.front());
  if (!reference) return settings.speedup;
  double best = 1;
  for (const auto& p : info.curve) {
    const auto q = quality(p);
    if (q && *q >= *reference - *budget - 1e-9) best = std::max(best, p.speedup);
  }
  return best;
}

// Speedups a target chooses among without a tuned curve.
std::vector<double> geometric_grid(double ceiling) {
  std::vector<double> grid;
  for (double s : {1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0}) {
    if (s <= ceiling) grid.push_back(s);
  }
  if (grid.back() < ceiling) grid.push_back(ceiling);
  return grid;
}

// An input of `tokens` tokens for timing: [CLS] and [SEP] around one ordinary word piece.
Encoding timing_input(const Encoder& encoder, int tokens) {
  Encoding e = encoder.tokenize("the");
  const std::int32_t word = e.ids[e.ids.size() / 2];
  e.ids.insert(e.ids.begin() + 1, static_cast<std::size_t>(std::max(0, tokens - 3)), word);
  e.type_ids.clear();
  return e;
}

}  // namespace

void TimeModel::add(double cost, double seconds) {
  constexpr double kDecay = 0.97;
  w_ = w_ * kDecay + 1;
  x_ = x_ * kDecay + cost;
  y_ = y_ * kDecay + seconds;
  xx_ = xx_ * kDecay + cost * cost;
  xy_ = xy_ * kDecay + cost * seconds;
  const double var = w_ * xx_ - x_ * x_;
  if (var > 1e-9 * w_ * xx_) {
    b_ = (w_ * xy_ - x_ * y_) / var;
    a_ = (y_ - b_ * x_) / w_;
  }
  // Costs too alike to tell a from b, or a fit that says a batch could take no time: time in
  // proportion to the cost.
  if (!(var > 1e-9 * w_ * xx_) || !(b_ > 0) || a_ < 0) {
    a_ = 0;
    b_ = x_ > 0 ? y_ / x_ : 0;
  }
}

void ArrivalRate::add(int inputs, Clock::time_point when) {
  rate_ = per_second(when) + inputs / kWindow;
  last_ = std::max(last_, when);
}

double ArrivalRate::per_second(Clock::time_point now) const {
  const double since = std::chrono::duration<double>(now - last_).count();
  return since > 0 ? rate_ * std::exp(-since / kWindow) : rate_;
}

std::size_t LatencyController::KeyHash::operator()(const std::tuple<double, int, int>& k) const {
  const auto [s, n, b] = k;
  return std::hash<double>()(s) ^ (std::hash<int>()(n) * 31) ^ (std::hash<int>()(b) * 1000003);
}

LatencyController::LatencyController(const Encoder& encoder, const std::filesystem::path& folder,
                                     const Options& options)
    : encoder_(encoder),
      shape_(encoder.shape()),
      target_ms_(options.target_ms),
      max_batch_tokens_(options.max_batch_tokens) {
  const auto from_budget = budget_ceiling(folder, encoder.info());
  if (options.max_speedup) {
    ceiling_ = *options.max_speedup;
    ceiling_source_ = "--max-speedup";
  } else if (from_budget) {
    ceiling_ = *from_budget;
    ceiling_source_ = "lat.json's accuracy budget";
  } else {
    ceiling_ = kDefaultCeiling;
    ceiling_source_ = "the default";
  }
  knob_ = encoder.policy().speedup() <= ceiling_ ? encoder.policy() : encoder.policy(ceiling_);
  if (!target_ms_) return;

  std::vector<double> speedups{1.0};
  if (!encoder.info().curve.empty()) {
    for (const auto& p : encoder.info().curve) {
      if (p.speedup > 1 && p.speedup <= ceiling_) speedups.push_back(p.speedup);
    }
  } else {
    speedups = geometric_grid(ceiling_);
  }
  std::sort(speedups.begin(), speedups.end());
  speedups.erase(std::unique(speedups.begin(), speedups.end()), speedups.end());
  for (double s : speedups) {
    try {
      choices_.push_back(encoder.policy(s));
    } catch (const Error& e) {
      std::cerr << "lat-serve: speedup " << s << " left out of the target's choices: " << e.what()
                << '\n';
    }
  }
}

Policy LatencyController::requested(double speedup) const {
  if (!(speedup >= 1 && speedup <= ceiling_)) {
    throw validation_error("`speedup` " + show(speedup) + " is outside [1, " + show(ceiling_) +
                           "] (" + ceiling_source_ + ")");
  }
  try {
    return encoder_.policy(speedup);
  } catch (const Error& e) {
    throw validation_error("`speedup` " + show(speedup) + ": " + e.what());
  }
}

double LatencyController::input_cost(const Policy& policy, int tokens, int batch) {
  if (costs_.size() > (1u << 16)) costs_.clear();  // requests' own speedups are unbounded
  const auto key = std::make_tuple(policy.speedup(), tokens, batch);
  const auto it = costs_.find(key);
  if (it != costs_.end()) return it->second;
  const Schedule s = policy.schedule(shape_, tokens, batch);
  const double c = pass_cost(shape_, tokens, s.keep, policy.cost().in_batch(batch));
  costs_.emplace(key, c);
  return c;
}

double LatencyController::cost(const Policy& policy, std::span<const int> tokens) {
  double total = 0;
  const auto batch = static_cast<int>(tokens.size());
  for (int n : tokens) total += input_cost(policy, n, batch);
  return total;
}

bool LatencyController::answers_in_time(const Policy& choice, std::span<const Pending> batch,
                                        std::span<const Pending> behind, Clock::time_point now) {
  const double budget = *target_ms_ / 1000;
  const auto size = static_cast<int>(batch.size());
  auto age = [&](const Pending& p) {
    return std::chrono::duration<double>(now - p.arrival).count();
  };
  double cost = 0;
  for (const Pending& p : batch) cost += input_cost(p.own ? *p.own : choice, p.tokens, size);
  const double first = time_.seconds(cost);
  // What arrives meanwhile is the next batch. Its inputs, taken to be like this batch's, each
  // cost what they do in a batch of that size; at the present rate they must leave the batcher
  // idle part of the time, or the queue only grows.
  const double rate = arrival_rate(now);
  const int next = std::max(size, static_cast<int>(std::ceil(rate * first)));
  double next_cost = 0;
  for (const Pending& p : batch) next_cost += input_cost(p.own ? *p.own : choice, p.tokens, next);
  const double busy = rate * time_.b() * next_cost / size;
  if (busy > kBusy) return false;
  // A request that arrives as this batch starts waits for it, then runs in the next one.
  double worst = first + time_.a() + busy * first;
  for (const Pending& p : batch) worst = std::max(worst, age(p) + first);
  // What is queued behind runs after it, in order, in batches of about the same size.
  double behind_cost = 0;
  long tokens = 0;
  for (const Pending& p : behind) {
    behind_cost += input_cost(p.own ? *p.own : choice, p.tokens, size);
    tokens += p.tokens;
    const int batches = 1 + static_cast<int>(tokens / std::max(1, max_batch_tokens_));
    worst = std::max(worst, age(p) + first + time_.seconds(behind_cost, batches));
    if (worst > budget) return false;
  }
  return worst <= budget;
}

const Policy& LatencyController::choose(std::span<const Pending> batch,
                                        std::span<const Pending> behind, Clock::time_point now) {
  if (!target_ms_ || choices_.empty()) return knob_;
  for (const Policy& p : choices_) {
    if (answers_in_time(p, batch, behind, now)) return p;
  }
  return choices_.back();
}

void LatencyController::calibrate() {
  const Policy dense = encoder_.policy(1.0);
  const int tokens = std::min(128, encoder_.info().max_length);
  for (int size : {1, 8}) {
    const std::vector<Encoding> inputs(static_cast<std::size_t>(size),
                                       timing_input(encoder_, tokens));
    const std::vector<int> lengths(inputs.size(), static_cast<int>(inputs[0].ids.size()));
    const double c = cost(dense, lengths);
    encoder_.run(inputs, dense);  // warm-up
    for (int r = 0; r < 3; ++r) {
      const auto start = Clock::now();
      encoder_.run(inputs, dense);
      observe(c, std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
}

}  // namespace lat::serve
