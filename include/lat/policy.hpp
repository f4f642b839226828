#pragma once

#include <string>
#include <vector>

#include "lat/export.hpp"
#include "lat/schedule.hpp"

namespace lat {

// What decides the schedule of a call (docs/design.md, "The schedule policy"): the speedup asked
// for, where the schedule cuts (keep exponents), the fewest rows a layer keeps (row floor) and the
// cost model. A value, validated once, where it is made. An Encoder has a policy of its own
// (Encoder::policy()), and each call may pass another; the weights are the same for all.
class LAT_EXPORT Policy {
 public:
  Policy() = default;  // the dense model: speedup 1
  // Throws lat::Error (kOption) naming the value at fault unless speedup is finite and >= 1, the
  // exponents are finite, >= 0 and non-decreasing (or empty: the geometric schedule), the floor
  // lies in [0, 1) and the cost model's weight_flops is finite and >= 0.
  explicit Policy(double speedup, std::vector<double> exponents = {}, double floor = 0.0,
                  CostModel cost = {});

  double speedup() const { return speedup_; }
  const std::vector<double>& exponents() const { return exponents_; }  // empty: geometric
  double floor() const { return floor_; }                              // 0: one row
  const CostModel& cost() const { return cost_; }

  // The keep counts for an input of `tokens` tokens in a call of `batch` inputs. Throws where the
  // exponents do not give one value per layer of `shape`.
  Schedule schedule(const ModelShape& shape, int tokens, int batch = 1) const;

  bool operator==(const Policy&) const = default;

 private:
  double speedup_ = 1.0;
  std::vector<double> exponents_;
  double floor_ = 0.0;
  CostModel cost_;
};

// "speedup 2, exponents [0, 1, 2], floor 0.05, weight_flops 40", for messages and logs.
LAT_EXPORT std::string to_string(const Policy& policy);

}  // namespace lat
