#include <cmath>

#include "lat/error.hpp"
#include "lat/schedule.hpp"
#include "test_support.hpp"

namespace lat {
namespace {

constexpr ModelShape kMiniLm{6, 384, 1536};
constexpr ModelShape kBertBase{12, 768, 3072};

TEST(Schedule, SpeedupOneIsDense) {
  for (int n : {1, 2, 17, 128, 512}) {
    const auto s = make_schedule(kMiniLm, n, 1.0);
    EXPECT_EQ(s.keep, std::vector<int>(6, n));
    EXPECT_DOUBLE_EQ(s.ratio, 1.0);
    EXPECT_DOUBLE_EQ(s.predicted, 1.0);
    EXPECT_TRUE(s.reached);
  }
}

TEST(Schedule, CountsNeverRiseNorFallBelowOneAndReachTheAskedSpeedup) {
  for (const auto& shape : {kMiniLm, kBertBase}) {
    for (int n : {2, 8, 32, 128, 512}) {
      for (double asked : {1.1, 1.5, 2.0, 3.0, 4.0, 6.0}) {
        const auto s = make_schedule(shape, n, asked);
        int previous = n;
        for (int k : s.keep) {
          EXPECT_LE(k, previous);
          EXPECT_GE(k, 1);
          previous = k;
        }
        const auto again = schedule_for_ratio(shape, n, s.ratio);
        EXPECT_EQ(again.keep, s.keep);
        if (s.reached) {
          EXPECT_GE(s.predicted, asked) << "n " << n << " s " << asked;
          // r is the largest that does: a slightly larger r no longer reaches it.
          EXPECT_LT(schedule_for_ratio(shape, n, std::nextafter(s.ratio, 2.0) + 1e-12).predicted,
                    asked);
        } else {
          EXPECT_EQ(s.keep, std::vector<int>(s.keep.size(), 1));
          EXPECT_LT(s.predicted, asked);
        }
      }
    }
  }
}

TEST(Schedule, UnreachableSpeedupReturnsMostPrunedAndSaysSo) {
  const auto s = make_schedule(kMiniLm, 4, 100.0);
  EXPECT_FALSE(s.reached);
  EXPECT_EQ(s.keep, std::vector<int>(6, 1));
  EXPECT_GT(s.predicted, 1.0);
}

TEST(Schedule, FlopsFollowTheCostModel) {
  const double d = 384, dff = 1536, m = 100, k = 40;
  EXPECT_DOUBLE_EQ(layer_flops(kMiniLm, m, k),
                   6 * m * d * d + 2 * m * m * d + 2 * k * m * d + 2 * k * d * d + 4 * k * d * dff);
}

TEST(Schedule, BadSpeedupsAreErrors) {
  for (double s : {0.5, 0.0, -1.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THROW(make_schedule(kMiniLm, 10, s), Error) << s;
  }
}

TEST(Schedule, CalibratedCostAddsTheWeightsOfEachLayer) {
  const double d = 384, dff = 1536;
  EXPECT_DOUBLE_EQ(layer_weights(kMiniLm), 4 * d * d + 2 * d * dff);
  EXPECT_DOUBLE_EQ(layer_cost(kMiniLm, 100, 40), layer_flops(kMiniLm, 100, 40));
  EXPECT_DOUBLE_EQ(layer_cost(kMiniLm, 100, 40, {40.0}),
                   layer_flops(kMiniLm, 100, 40) + 40.0 * layer_weights(kMiniLm));
}

TEST(Schedule, CalibratedCostPrunesMoreForTheSameSpeedup) {
  for (const auto& shape : {kMiniLm, kBertBase}) {
    for (int n : {8, 32, 128, 512}) {
      for (double asked : {1.5, 2.0, 3.0, 4.0}) {
        const auto flops = make_schedule(shape, n, asked);
        const auto calibrated = make_schedule(shape, n, asked, {40.0});
        // Rows that do not pay for themselves in FLOPs still pay for reading the weights.
        EXPECT_LE(calibrated.ratio, flops.ratio);
        for (std::size_t l = 0; l < flops.keep.size(); ++l) {
          EXPECT_LE(calibrated.keep[l], flops.keep[l]) << "n " << n << " s " << asked;
        }
        if (calibrated.reached) {
          EXPECT_GE(calibrated.predicted, asked);
        }
        EXPECT_LT(schedule_for_ratio(shape, n, flops.ratio, {40.0}).predicted, flops.predicted);
      }
    }
  }
  EXPECT_EQ(make_schedule(kMiniLm, 128, 2.0, {0.0}).keep, make_schedule(kMiniLm, 128, 2.0).keep);
}

TEST(Schedule, BadCostModelsAreErrors) {
  for (double w : {-1.0, std::nan(""), HUGE_VAL}) {
    EXPECT_THROW(make_schedule(kMiniLm, 10, 2.0, {w}), Error) << w;
  }
  EXPECT_THROW(make_schedule(kMiniLm, 10, 2.0, {40.0, 0}), Error);
}

TEST(Schedule, ABatchSharesTheWeightsReading) {
  EXPECT_DOUBLE_EQ(layer_cost(kMiniLm, 100, 40, {40.0, 8}),
                   layer_flops(kMiniLm, 100, 40) + 5.0 * layer_weights(kMiniLm));
  for (int n : {8, 32, 128, 512}) {
    for (double asked : {1.5, 2.0, 3.0}) {
      const auto one = make_schedule(kMiniLm, n, asked, {40.0});
      const auto eight = make_schedule(kMiniLm, n, asked, {40.0, 8});
      EXPECT_GE(eight.ratio, one.ratio) << "n " << n << " s " << asked;
      EXPECT_LE(eight.ratio, make_schedule(kMiniLm, n, asked).ratio);
      // The FLOP model has no weights to share.
      EXPECT_EQ(make_schedule(kMiniLm, n, asked, {0.0, 8}).keep,
                make_schedule(kMiniLm, n, asked).keep);
    }
  }
  EXPECT_EQ((CostModel{40.0}.in_batch(0).batch), 1);
}

// The attention term charges each layer attention_flops per score it reads, m^2 for m rows: rows
// cut early save it quadratically, so the same speedup cuts less.
TEST(Schedule, TheAttentionTermCostsEachScore) {
  const CostModel attention{.weight_flops = 0, .batch = 1, .attention_flops = 5000};
  EXPECT_DOUBLE_EQ(layer_cost(kMiniLm, 100, 40, attention),
                   layer_flops(kMiniLm, 100, 40) + 5000.0 * 100 * 100);
  for (int n : {32, 128, 512}) {
    const auto flops = make_schedule(kMiniLm, n, 2.0),
               scored = make_schedule(kMiniLm, n, 2.0, attention);
    EXPECT_GE(scored.ratio, flops.ratio) << "n " << n;
    EXPECT_GE(scored.predicted, 2.0);
  }
}

// The input term charges each input's layers in full, however many inputs share the call; a cost
// that does not shrink with the rows makes the same speedup cut more.
TEST(Schedule, EachInputPaysItsInputTerm) {
  const CostModel input{.input_flops = 4e6};
  EXPECT_DOUBLE_EQ(layer_cost(kMiniLm, 100, 40, input.in_batch(8)),
                   layer_flops(kMiniLm, 100, 40) + 4e6);
  const CostModel both{.weight_flops = 40, .input_flops = 4e6};
  for (int n : {8, 32, 128, 512}) {
    const auto one = make_schedule(kMiniLm, n, 2.0, input);
    EXPECT_EQ(make_schedule(kMiniLm, n, 2.0, input.in_batch(8)).keep, one.keep) << "n " << n;
    EXPECT_LE(one.ratio, make_schedule(kMiniLm, n, 2.0).ratio) << "n " << n;
    EXPECT_LE(make_schedule(kMiniLm, n, 2.0, both.in_batch(8)).ratio,
              make_schedule(kMiniLm, n, 2.0, CostModel{40.0, 8}).ratio)
        << "n " << n;
  }
  EXPECT_EQ(CostModel{.input_flops = 4e6}.in_batch(8).input_flops, 4e6);
  EXPECT_THROW(make_schedule(kMiniLm, 10, 2.0, {.input_flops = -1}), Error);
}

TEST(Schedule, ACostModelIsNamedByItsTerms) {
  EXPECT_EQ(to_string(CostModel{}), "the FLOP count");
  EXPECT_EQ(to_string(CostModel{.weight_flops = 40, .batch = 8, .input_flops = 2.5e6}),
            "weight_flops 40, input_flops 2.5e+06");
}

TEST(Schedule, ExponentsOneToLAreTheGeometricSchedule) {
  const std::vector<double> geometric{1, 2, 3, 4, 5, 6};
  for (int n : {2, 17, 128, 512}) {
    for (double asked : {1.5, 2.0, 3.0, 8.0}) {
      const auto a = make_schedule(kMiniLm, n, asked);
      const auto b = make_schedule(kMiniLm, n, asked, {}, geometric);
      EXPECT_EQ(a.keep, b.keep);
      EXPECT_DOUBLE_EQ(a.ratio, b.ratio);
      EXPECT_EQ(a.reached, b.reached);
    }
  }
}

TEST(Schedule, ZeroExponentsSpareTheirLayersAndTheAskedSpeedupIsStillReached) {
  const std::vector<double> spare_first{0, 1, 2, 3, 4, 5};
  for (int n : {32, 128, 512}) {
    for (double asked : {1.5, 2.0, 3.0}) {
      const auto s = make_schedule(kMiniLm, n, asked, {}, spare_first);
      EXPECT_EQ(s.keep.front(), n);
      EXPECT_TRUE(s.reached);
      EXPECT_GE(s.predicted, asked);
      // Under the same speedup the later layers keep fewer rows than the geometric schedule's.
      EXPECT_LE(s.keep.back(), make_schedule(kMiniLm, n, asked).keep.back());
    }
  }
  // Every layer spared: no speedup is reachable beyond 1.
  const std::vector<double> none(6, 0.0);
  EXPECT_FALSE(make_schedule(kMiniLm, 64, 2.0, {}, none).reached);
}

TEST(Schedule, BadExponentsAreErrors) {
  const std::vector<std::vector<double>> bad{
      {1, 2, 3}, {-1, 1, 2, 3, 4, 5}, {2, 1, 3, 4, 5, 6}, {1, 2, 3, 4, 5, std::nan("")}};
  for (const auto& w : bad) EXPECT_THROW(make_schedule(kMiniLm, 10, 2.0, {}, w), Error);
}

TEST(Schedule, FloorKeepsAFractionOfTheRowsAndAtLeastTwo) {
  EXPECT_EQ(floor_rows(512, 0.0), 1);  // DESIGN.md's default
  EXPECT_EQ(floor_rows(1, 0.05), 1);
  EXPECT_EQ(floor_rows(2, 0.05), 2);
  EXPECT_EQ(floor_rows(20, 0.05), 2);
  EXPECT_EQ(floor_rows(100, 0.05), 5);
  EXPECT_EQ(floor_rows(101, 0.05), 6);
  for (const auto& shape : {kMiniLm, kBertBase}) {
    for (int n : {2, 3, 8, 25, 128, 512}) {
      for (double floor : {0.0, 0.05, 0.2}) {
        for (double asked : {1.5, 2.0, 3.0, 6.0, 50.0}) {
          for (const CostModel cost : {CostModel{}, CostModel{40.0}}) {
            const auto s = make_schedule(shape, n, asked, cost, {}, floor);
            int previous = n;
            for (int k : s.keep) {
              EXPECT_GE(k, floor_rows(n, floor));
              EXPECT_LE(k, previous);
              previous = k;
            }
            if (s.reached) {
              EXPECT_GE(s.predicted, asked);
            } else {
              // Out of reach: every layer at the floor, not below it.
              EXPECT_EQ(s.keep, std::vector<int>(s.keep.size(), floor_rows(n, floor)));
              EXPECT_LT(s.predicted, asked);
            }
          }
        }
      }
    }
  }
  // Where the floor does not bind the schedule is the one without it.
  EXPECT_EQ(make_schedule(kMiniLm, 250, 2.0, {}, {}, 0.05).keep,
            make_schedule(kMiniLm, 250, 2.0).keep);
}

TEST(Schedule, BadFloorsAreErrors) {
  for (double floor : {-0.1, 1.0, 2.0, std::nan("")}) {
    EXPECT_THROW(make_schedule(kMiniLm, 10, 2.0, {}, {}, floor), Error) << floor;
    EXPECT_THROW(schedule_for_ratio(kMiniLm, 10, 0.5, {}, {}, floor), Error) << floor;
  }
}

// Keep counts written by the reference (tools/reference/make_schedule_golden.py) for geometric,
// spared and free exponents, with and without a floor: lat's are the same, and so is the
// predicted speedup to the last bits that bisection leaves.
TEST(Schedule, AgreesWithTheReference) {
  const auto golden = test::read_json(test::golden_dir() / "schedules.json");
  int cases = 0;
  for (const auto& c : golden["cases"]) {
    const ModelShape shape{c["layers"], c["hidden"], c["intermediate"]};
    const auto exponents = c["exponents"].get<std::vector<double>>();
    const auto s = make_schedule(shape, c["tokens"], c["speedup"], {}, exponents, c["floor"]);
    EXPECT_EQ(s.keep, c["keep"].get<std::vector<int>>()) << c.dump();
    EXPECT_EQ(s.reached, c["reached"].get<bool>()) << c.dump();
    EXPECT_NEAR(s.predicted, c["predicted"].get<double>(), 1e-9 * s.predicted) << c.dump();
    ++cases;
  }
  EXPECT_GT(cases, 500);
}

}  // namespace
}  // namespace lat
