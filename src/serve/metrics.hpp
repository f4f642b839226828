#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lat::serve {

// Cumulative buckets, as Prometheus keeps them: counts[i] observations <= bounds[i], the last
// bucket +Inf.
struct Histogram {
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);

  std::vector<double> bounds;
  std::vector<std::uint64_t> counts;  // per bucket, not cumulative; one more than bounds
  double sum = 0;
  std::uint64_t count = 0;
};

// What lat-serve counts, shown by GET /metrics in Prometheus' text format (docs/serve.md lists the
// series). Every method may be called from any thread.
class Metrics {
 public:
  Metrics();

  // An answer: its route (a known route, else "other"), status and seconds from arrival.
  void answered(std::string_view route, int status, double seconds);
  // A request whose client left before its answer.
  void disconnected();
  void in_flight(int requests);  // requests holding a slot of --max-concurrent-requests
  void queued(std::size_t inputs);
  // A batch: its inputs, tokens, the speedup it ran at, seconds queued of each input, seconds run.
  void batch(int inputs, int tokens, double speedup, const std::vector<double>& queue_seconds,
             double seconds);
  double speedup() const;  // the speedup of the last batch (the knob before the first)
  void set_speedup(double speedup);

  // The series, with the batcher's present arrival rate (inputs per second).
  std::string render(double arrival_rate) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> answers_;
  std::map<double, std::uint64_t> batches_by_speedup_;  // to the hundredth
  std::uint64_t disconnects_ = 0;
  int in_flight_ = 0;
  std::size_t queue_ = 0;
  double speedup_ = 1.0;
  Histogram request_seconds_, queue_seconds_, inference_seconds_, batch_inputs_, batch_tokens_,
      batch_speedup_;
};

}  // namespace lat::serve
