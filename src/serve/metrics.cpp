// GET /metrics: Prometheus' text exposition format, version 0.0.4.
#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

namespace lat::serve {

namespace {

std::vector<double> seconds_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15,
          0.2,   0.3,    0.5,   0.75, 1,     2.5,  5,     10,  30};
}

std::vector<double> powers_of_two(double first, double last) {
  std::vector<double> b;
  for (double v = first; v <= last; v *= 2) b.push_back(v);
  return b;
}

// A number as Prometheus reads it: shortest round-trip form, +Inf for infinity.
std::string number(double v) {
  if (v == std::numeric_limits<double>::infinity()) return "+Inf";
  std::ostringstream out;
  out << std::setprecision(17) << v;
  std::string s = out.str();
  // Shorter where it reads back the same (0.1, not 0.10000000000000001).
  for (int p = 1; p < 17; ++p) {
    std::ostringstream shorter;
    shorter << std::setprecision(p) << v;
    if (std::stod(shorter.str()) == v) return shorter.str();
  }
  return s;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

void histogram(std::ostringstream& out, const char* name, const char* help, const Histogram& h) {
  header(out, name, "histogram", help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    const double le = i < h.bounds.size() ? h.bounds[i] : std::numeric_limits<double>::infinity();
    out << name << "_bucket{le=\"" << number(le) << "\"} " << cumulative << '\n';
  }
  out << name << "_sum " << number(h.sum) << '\n' << name << "_count " << h.count << '\n';
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
  const auto at = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  ++counts[static_cast<std::size_t>(at)];
  sum += value;
  ++count;
}

Metrics::Metrics()
    : request_seconds_(seconds_buckets()),
      queue_seconds_(seconds_buckets()),
      inference_seconds_(seconds_buckets()),
      batch_inputs_(powers_of_two(1, 4096)),
      batch_tokens_(powers_of_two(16, 65536)),
      batch_speedup_({1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6, 8}) {}

void Metrics::answered(std::string_view route, int status, double seconds) {
  const std::lock_guard lock(mutex_);
  ++answers_[{std::string(route), status}];
  request_seconds_.observe(seconds);
}

void Metrics::disconnected() {
  const std::lock_guard lock(mutex_);
  ++disconnects_;
}

void Metrics::in_flight(int requests) {
  const std::lock_guard lock(mutex_);
  in_flight_ = requests;
}

void Metrics::queued(std::size_t inputs) {
  const std::lock_guard lock(mutex_);
  queue_ = inputs;
}

void Metrics::batch(int inputs, int tokens, double speedup,
                    const std::vector<double>& queue_seconds, double seconds) {
  const std::lock_guard lock(mutex_);
  batch_inputs_.observe(inputs);
  batch_tokens_.observe(tokens);
  batch_speedup_.observe(speedup);
  // Requests may name any speedup up to the ceiling: to the hundredth, the labels stay few.
  ++batches_by_speedup_[std::round(speedup * 100) / 100];
  for (double q : queue_seconds) queue_seconds_.observe(q);
  inference_seconds_.observe(seconds);
  speedup_ = speedup;
}

double Metrics::speedup() const {
  const std::lock_guard lock(mutex_);
  return speedup_;
}

void Metrics::set_speedup(double speedup) {
  const std::lock_guard lock(mutex_);
  speedup_ = speedup;
}

std::string Metrics::render(double arrival_rate) const {
  const std::lock_guard lock(mutex_);
  std::ostringstream out;
  header(out, "lat_requests_total", "counter", "answers by route and HTTP status");
  for (const auto& [key, n] : answers_)
    out << "lat_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << n
        << '\n';
  header(out, "lat_client_disconnects_total", "counter",
         "requests whose client left before its answer (dropped if before their batch ran)");
  out << "lat_client_disconnects_total " << disconnects_ << '\n';
  header(out, "lat_requests_in_flight", "gauge",
         "requests holding a slot of --max-concurrent-requests");
  out << "lat_requests_in_flight " << in_flight_ << '\n';
  header(out, "lat_queue_inputs", "gauge", "inputs waiting for a batch");
  out << "lat_queue_inputs " << queue_ << '\n';
  header(out, "lat_arrival_rate", "gauge",
         "inputs arriving per second, averaged over about the last second");
  out << "lat_arrival_rate " << number(arrival_rate) << '\n';
  header(out, "lat_speedup", "gauge", "the speedup of the last batch");
  out << "lat_speedup " << number(speedup_) << '\n';
  header(out, "lat_batches_total", "counter", "batches run, by the speedup they ran at");
  for (const auto& [s, n] : batches_by_speedup_)
    out << "lat_batches_total{speedup=\"" << number(s) << "\"} " << n << '\n';
  histogram(out, "lat_batch_speedup", "the speedup each batch ran at", batch_speedup_);
  histogram(out, "lat_batch_inputs", "inputs per batch", batch_inputs_);
  histogram(out, "lat_batch_tokens", "tokens per batch", batch_tokens_);
  histogram(out, "lat_queue_seconds", "each input's wait from its request's arrival to its batch",
            queue_seconds_);
  histogram(out, "lat_inference_seconds", "each batch's run", inference_seconds_);
  histogram(out, "lat_request_seconds", "each answer's time from the request's arrival",
            request_seconds_);
  return out.str();
}

}  // namespace lat::serve
