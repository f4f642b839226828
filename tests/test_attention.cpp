// The fused attention kernel (softmax with ACC column sums) against a naive implementation.
#include <cmath>
#include <random>

#include "kernels/attention.hpp"
#include "test_support.hpp"

namespace lat::kernels {
namespace {

struct Naive {
  std::vector<double> probs;  // n x n
  std::vector<double> acc;
};

Naive naive(const std::vector<float>& qkv, int n, int dh, int ld, int head) {
  Naive r{std::vector<double>(static_cast<std::size_t>(n * n)),
          std::vector<double>(static_cast<std::size_t>(n))};
  const int d = ld / 3;
  for (int i = 0; i < n; ++i) {
    std::vector<double> s(static_cast<std::size_t>(n));
    double max = -1e300;
    for (int j = 0; j < n; ++j) {
      double dot = 0;
      for (int t = 0; t < dh; ++t) {
        dot += double{qkv[static_cast<std::size_t>(i * ld + head * dh + t)]} *
               qkv[static_cast<std::size_t>(j * ld + d + head * dh + t)];
      }
      s[static_cast<std::size_t>(j)] = dot / std::sqrt(double(dh));
      max = std::max(max, s[static_cast<std::size_t>(j)]);
    }
    double sum = 0;
    for (double& v : s) sum += v = std::exp(v - max);
    for (int j = 0; j < n; ++j) {
      r.probs[static_cast<std::size_t>(i * n + j)] = s[static_cast<std::size_t>(j)] / sum;
      r.acc[static_cast<std::size_t>(j)] += s[static_cast<std::size_t>(j)] / sum;
    }
  }
  return r;
}

class FusedAttention : public ::testing::TestWithParam<int> {};

TEST_P(FusedAttention, ProbabilitiesAccAndContextMatchNaive) {
  const int n = GetParam(), dh = 16, heads = 2, d = heads * dh, ld = 3 * d;
  std::mt19937 rng(static_cast<unsigned>(n));
  std::normal_distribution<float> dist(0.f, 1.5f);
  std::vector<float> qkv(static_cast<std::size_t>(n * ld));
  for (float& v : qkv) v = dist(rng);
  std::vector<float> scores(static_cast<std::size_t>(heads * n * n));
  attention_scores(qkv.data(), ld, n, heads, dh, scores.data());
  // Context for every other row (and row 0): P[rows] V.
  std::vector<int> rows;
  for (int i = 0; i < n; i += 2) rows.push_back(i);
  std::vector<Naive> refs;
  for (int head = 0; head < heads; ++head) {
    float* probs = scores.data() + static_cast<std::size_t>(head * n * n);
    std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
    softmax_acc(probs, n, 1.0f / std::sqrt(float(dh)), acc.data());
    const Naive& ref = refs.emplace_back(naive(qkv, n, dh, ld, head));
    double acc_total = 0;
    for (int j = 0; j < n; ++j) {
      EXPECT_NEAR(acc[static_cast<std::size_t>(j)], ref.acc[static_cast<std::size_t>(j)], 1e-5 * n);
      acc_total += acc[static_cast<std::size_t>(j)];
    }
    EXPECT_NEAR(acc_total, n, 1e-4 * n) << "every query row sums to one";
    for (int i = 0; i < n * n; ++i)
      EXPECT_NEAR(probs[i], ref.probs[static_cast<std::size_t>(i)], 1e-6);
    compact_rows(probs, n, rows);
  }
  const int k = static_cast<int>(rows.size());
  std::vector<float> out(static_cast<std::size_t>(k * d));
  attention_context(qkv.data(), ld, n, heads, dh, scores.data(), k, out.data(), d);
  for (int head = 0; head < heads; ++head) {
    for (int t = 0; t < k; ++t) {
      for (int c = 0; c < dh; ++c) {
        double expect = 0;
        for (int j = 0; j < n; ++j) {
          expect +=
              refs[static_cast<std::size_t>(head)]
                  .probs[static_cast<std::size_t>(rows[static_cast<std::size_t>(t)] * n + j)] *
              qkv[static_cast<std::size_t>(j * ld + 2 * d + head * dh + c)];
        }
        EXPECT_NEAR(out[static_cast<std::size_t>(t * d + head * dh + c)], expect, 1e-5);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Lengths, FusedAttention, ::testing::Values(1, 2, 3, 16, 33, 130));

TEST(FusedAttention, EqualKeysGiveEqualAcc) {
  // Identical key rows get identical scores: their ACC ties exactly.
  const int n = 6, dh = 4, d = dh, ld = 3 * d;
  std::vector<float> qkv(static_cast<std::size_t>(n * ld), 0.5f);
  for (int i = 0; i < n; ++i) qkv[static_cast<std::size_t>(i * ld)] = static_cast<float>(i);
  std::vector<float> probs(n * n), acc(n, 0.f);
  attention_scores(qkv.data(), ld, n, 1, dh, probs.data());
  softmax_acc(probs.data(), n, 0.5f, acc.data());
  for (int j = 1; j < n; ++j) EXPECT_EQ(acc[static_cast<std::size_t>(j)], acc[0]);
}

}  // namespace
}  // namespace lat::kernels
