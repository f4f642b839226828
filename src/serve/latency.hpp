#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <lat/encoder.hpp>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace lat::serve {

using Clock = std::chrono::steady_clock;

// A queued input, as the latency controller sees it.
struct Pending {
  Clock::time_point arrival;  // its request's
  int tokens = 0;
  const Policy* own = nullptr;  // the policy it must run under (its request's), else null
};

// seconds = a + b * cost: a batch's time against its cost under the schedule's cost model, fitted
// by least squares over the recent batches (each weighs 0.97 of the next), so that it follows the
// machine. `a` is what a batch costs whatever its rows (reading the weights, when the cost model is
// the FLOP count).
class TimeModel {
 public:
  void add(double cost, double seconds);
  double seconds(double cost, int batches = 1) const { return a_ * batches + b_ * cost; }
  double a() const { return a_; }
  double b() const { return b_; }

 private:
  double w_ = 0, x_ = 0, y_ = 0, xx_ = 0, xy_ = 0;
  double a_ = 0, b_ = 0;
};

// Inputs arriving per second, an average over about the last second that decays as time passes.
class ArrivalRate {
 public:
  void add(int inputs, Clock::time_point when);
  double per_second(Clock::time_point now) const;

 private:
  double rate_ = 0;
  Clock::time_point last_{};
};

// Chooses the policy of each batch (docs/serve.md, "The latency target"). Without a target every
// batch runs under the folder's knob. With a target T it takes the smallest of its speedups (the
// tuned curve's points, else a geometric grid, up to the ceiling) under which the time model
// predicts that every queued input is answered within T of its request's arrival, the inputs
// behind this batch run after it in order, that inputs arriving at the present rate keep the
// batcher busy at most kBusy of the time, and that a request arriving now is answered within T
// too; when none does, the largest. The ceiling is
// --max-speedup, else the tuned curve's accuracy budget, else 3; a request may ask for its own
// speedup within it.
class LatencyController {
 public:
  struct Options {
    std::optional<double> target_ms;
    std::optional<double> max_speedup;
    int max_batch_tokens = 16384;
  };
  LatencyController(const Encoder& encoder, const std::filesystem::path& folder,
                    const Options& options);

  double ceiling() const { return ceiling_; }
  std::optional<double> target_ms() const { return target_ms_; }
  // Where the ceiling comes from: "--max-speedup", "lat.json's accuracy budget", ...
  const std::string& ceiling_source() const { return ceiling_source_; }
  // The speedups a target chooses among, ascending (empty without a target).
  const std::vector<Policy>& choices() const { return choices_; }
  const Policy& knob() const { return knob_; }  // every batch's policy without a target

  // The policy of a request's own speedup. ApiError 422 outside [1, ceiling] or where no input of
  // the maximum length reaches it.
  Policy requested(double speedup) const;

  // The policy of the next batch, whose inputs have none of their own; `behind`: what stays queued
  // after it, in the order it will run. Batcher thread only.
  const Policy& choose(std::span<const Pending> batch, std::span<const Pending> behind,
                       Clock::time_point now);
  // A request's inputs joined the queue. Under the batcher's lock, as choose is.
  void arrived(int inputs, Clock::time_point when) { arrivals_.add(inputs, when); }
  double arrival_rate(Clock::time_point now) const { return arrivals_.per_second(now); }

  // A batch's cost under the cost model (inputs of `tokens` tokens run together under `policy`),
  // and, once run, its measured time. Batcher thread only.
  double cost(const Policy& policy, std::span<const int> tokens);
  void observe(double cost, double seconds) { time_.add(cost, seconds); }
  const TimeModel& time_model() const { return time_; }

  // Times dense batches (one input and 8, of 128 tokens) to start the time model; warms the
  // kernels up too.
  void calibrate();

 private:
  double input_cost(const Policy& policy, int tokens, int batch);
  bool answers_in_time(const Policy& choice, std::span<const Pending> batch,
                       std::span<const Pending> behind, Clock::time_point now);

  const Encoder& encoder_;
  ModelShape shape_;
  std::optional<double> target_ms_;
  int max_batch_tokens_;
  double ceiling_ = 1;
  std::string ceiling_source_;
  Policy knob_;
  std::vector<Policy> choices_;
  TimeModel time_;
  ArrivalRate arrivals_;
  // input_cost by (speedup, tokens, batch): the schedules of one speedup are the same for every
  // batch of the same size.
  struct KeyHash {
    std::size_t operator()(const std::tuple<double, int, int>& k) const;
  };
  std::unordered_map<std::tuple<double, int, int>, double, KeyHash> costs_;
};

}  // namespace lat::serve
