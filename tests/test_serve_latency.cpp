// lat-serve's latency controller: the arrival rate it measures and the speedups it chooses by it.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <vector>

#include "lat/encoder.hpp"
#include "serve/latency.hpp"
#include "test_support.hpp"

namespace lat::serve {
namespace {

using std::chrono::milliseconds;

// `per_second` inputs a second, one at a time, for `seconds` from `start`, given to `add`; the
// time after.
template <typename Add>
Clock::time_point stream(Add add, Clock::time_point start, double per_second, double seconds) {
  const auto count = static_cast<int>(per_second * seconds);
  for (int i = 0; i < count; ++i) {
    add(start +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / per_second)));
  }
  return start +
         std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

Clock::time_point stream(ArrivalRate& rate, Clock::time_point start, double per_second,
                         double seconds) {
  return stream([&](Clock::time_point when) { rate.add(1, when); }, start, per_second, seconds);
}

Clock::time_point stream(LatencyController& controller, Clock::time_point start, double per_second,
                         double seconds) {
  return stream([&](Clock::time_point when) { controller.arrived(1, when); }, start, per_second,
                seconds);
}

TEST(ArrivalRate, FollowsASteadyStreamAndForgetsIt) {
  ArrivalRate rate;
  const Clock::time_point start{};
  EXPECT_EQ(rate.per_second(start), 0);
  const auto end = stream(rate, start, 500, 4);
  EXPECT_NEAR(rate.per_second(end), 500, 25);
  // Two seconds of silence leave e^-2 of it.
  EXPECT_NEAR(rate.per_second(end + milliseconds(2000)), 500 * std::exp(-2.0), 5);
  // A step up to 2,000 a second shows within two seconds.
  const auto later = stream(rate, end, 2000, 2);
  EXPECT_GT(rate.per_second(later), 1700);
  // An arrival stamped before the last one seen counts, and does not move the clock back.
  const double before = rate.per_second(later);
  rate.add(10, later - milliseconds(500));
  EXPECT_NEAR(rate.per_second(later), before + 10, 0.1);
}

// A controller whose time model says a batch costs 2 ms plus 1 ms per 100 MFLOP of its cost.
struct Controlled {
  Encoder encoder{test::golden_dir() / "tiny-bert"};
  LatencyController controller{
      encoder, test::golden_dir() / "tiny-bert", {.target_ms = 100, .max_speedup = 3}};
  Controlled() {
    for (double cost : {1e6, 1e7, 1e8, 1e9}) controller.observe(cost, 2e-3 + cost / 1e11);
  }
};

TEST(LatencyController, ChoosesASpeedupThatKeepsPaceWithArrivals) {
  const Clock::time_point start{};
  const std::vector<Pending> batch(4, Pending{start, 24, nullptr});
  const std::vector<int> lengths(batch.size(), 24);
  Controlled idle;
  const auto& choices = idle.controller.choices();
  ASSERT_GE(choices.size(), 3u);
  ASSERT_NEAR(idle.controller.time_model().a(), 2e-3, 1e-6);
  // Seconds an input of the batch takes beyond the batch's constant, under a policy.
  auto per_input = [&](const Policy& p) {
    return idle.controller.time_model().b() * idle.controller.cost(p, lengths) / 4;
  };
  ASSERT_LT(per_input(choices.back()), 0.8 * per_input(choices.front()));
  EXPECT_EQ(idle.controller.choose(batch, {}, start).speedup(), 1.0);

  // Arrivals that would keep dense batches busy 95% of the time: a higher speedup, one that
  // leaves the batcher idle at least a tenth of the time.
  const double rate = 0.95 / per_input(choices.front());
  Controlled busy;
  const auto now = stream(busy.controller, start, rate, 3);
  const Policy& chosen = busy.controller.choose(batch, {}, now);
  EXPECT_GT(chosen.speedup(), 1.0);
  EXPECT_LE(busy.controller.arrival_rate(now) * per_input(chosen), 0.9);

  // Arrivals no choice keeps pace with: the largest.
  Controlled flooded;
  const auto later = stream(flooded.controller, start, 2 / per_input(choices.back()), 3);
  EXPECT_EQ(flooded.controller.choose(batch, {}, later).speedup(), choices.back().speedup());
}

}  // namespace
}  // namespace lat::serve
