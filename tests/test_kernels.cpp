// Every kernel against a naive twin written with Eigen in double precision, for every instruction
// set variant of lat's loops this CPU runs and odd shapes. Tolerances are stated where they are
// checked:
// - fp32 products: 1e-5 of sum_k |x_k w_k| (fp32 rounding grows with the depth);
// - an epilogue multiplies the error by at most its largest slope (1.13 for GELU).
// The loops' own arithmetic is held to 1e-6 relative (an exp approximation of about 1e-7, and
// fp32 sums).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/linear.hpp"
#include "test_support.hpp"

namespace lat::kernels {
namespace {

using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Vector = Eigen::VectorXd;

std::vector<float> random_values(std::size_t n, unsigned seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, spread);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

Matrix as_matrix(const std::vector<float>& v, std::int64_t rows, std::int64_t cols) {
  return Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
             v.data(), rows, cols)
      .cast<double>();
}

double activation(Epilogue e, double x) {
  switch (e) {
    case Epilogue::kGeluErf:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Epilogue::kGeluTanh:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case Epilogue::kRelu:
      return x > 0 ? x : 0.0;
    case Epilogue::kTanh:
      return std::tanh(x);
    case Epilogue::kNone:
      break;
  }
  return x;
}

constexpr double kSlope = 1.13;  // the largest slope of any epilogue (GELU's)

// Each instruction set variant of the loops that this CPU runs.
class EachIsa : public ::testing::TestWithParam<Isa> {
 protected:
  const Loops& loops_for() const {
    for (const Loops* l : supported_loops()) {
      if (l->isa == GetParam()) return *l;
    }
    throw std::runtime_error("unsupported");
  }
  void SetUp() override {
    bool found = false;
    for (const Loops* l : supported_loops()) found = found || l->isa == GetParam();
    if (!found) GTEST_SKIP() << "this CPU does not run this variant";
  }
};

std::string isa_name(const ::testing::TestParamInfo<Isa>& info) {
  return info.param == Isa::kScalar ? "scalar" : info.param == Isa::kAvx2 ? "avx2" : "avx512";
}

// softmax with ACC.
TEST_P(EachIsa, SoftmaxAccMatchesNaive) {
  const Loops& loops = loops_for();
  for (int n : {1, 2, 3, 15, 16, 17, 33, 130}) {
    {
      const float scale = 0.37f;
      auto scores = random_values(static_cast<std::size_t>(n * n), static_cast<unsigned>(n), 4.f);
      const Matrix s = as_matrix(scores, n, n) * scale;
      Matrix p(n, n);
      for (int i = 0; i < n; ++i) {
        const Eigen::RowVectorXd e = (s.row(i).array() - s.row(i).maxCoeff()).exp().matrix();
        p.row(i) = e / e.sum();
      }
      const Vector acc_ref = p.colwise().sum().transpose();
      std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
      loops.softmax_acc(scores.data(), n, scale, acc.data());
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          const std::size_t at = static_cast<std::size_t>(i * n + j);
          ASSERT_NEAR(scores[at], p(i, j), 1e-6) << "n " << n << " at " << i << "," << j;
        }
      }
      for (int j = 0; j < n; ++j)
        ASSERT_NEAR(acc[static_cast<std::size_t>(j)], acc_ref(j), 1e-6 * n);
    }
  }
}

TEST_P(EachIsa, EqualScoresGiveEqualAcc) {
  // Identical key rows get identical scores: their ACC ties exactly, whatever the lanes.
  const int n = 37;
  std::vector<float> scores(static_cast<std::size_t>(n * n));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j)
      scores[static_cast<std::size_t>(i * n + j)] = 0.25f * static_cast<float>(i);
  }
  std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
  loops_for().softmax_acc(scores.data(), n, 0.5f, acc.data());
  for (int j = 1; j < n; ++j) EXPECT_EQ(acc[static_cast<std::size_t>(j)], acc[0]);
}

TEST_P(EachIsa, LayerNormMatchesNaive) {
  const Loops& loops = loops_for();
  for (int d : {1, 7, 16, 33, 384}) {
    for (bool with_residual : {false, true}) {
      const std::int64_t rows = 5;
      auto x =
          random_values(static_cast<std::size_t>(rows * d), 3u + static_cast<unsigned>(d), 3.f);
      const auto residual = random_values(x.size(), 5u, 2.f);
      const auto gamma = random_values(static_cast<std::size_t>(d), 7u);
      const auto beta = random_values(static_cast<std::size_t>(d), 9u);
      Matrix in = as_matrix(x, rows, d);
      if (with_residual) in += as_matrix(residual, rows, d);
      const float eps = 1e-12f;
      loops.add_layer_norm(x.data(), with_residual ? residual.data() : nullptr, rows, d,
                           gamma.data(), beta.data(), eps);
      for (std::int64_t r = 0; r < rows; ++r) {
        const double mean = in.row(r).mean();
        const double var = (in.row(r).array() - mean).square().mean();
        for (int i = 0; i < d; ++i) {
          const double expect =
              (in(r, i) - mean) / std::sqrt(var + eps) * gamma[static_cast<std::size_t>(i)] +
              beta[static_cast<std::size_t>(i)];
          ASSERT_NEAR(x[static_cast<std::size_t>(r * d + i)], expect, 1e-5 * (1 + std::abs(expect)))
              << "d " << d;
        }
      }
    }
  }
}

TEST_P(EachIsa, L2NormalizeMatchesNaive) {
  auto x = random_values(3 * 33, 11u);
  const Matrix m = as_matrix(x, 3, 33);
  std::fill_n(x.begin() + 66, 33, 0.f);  // a row of zeros stays zero
  loops_for().l2_normalize(x.data(), 3, 33);
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 33; ++i) {
      ASSERT_NEAR(x[static_cast<std::size_t>(r * 33 + i)], m(r, i) / m.row(r).norm(), 1e-7);
    }
  }
  for (int i = 66; i < 99; ++i) EXPECT_EQ(x[static_cast<std::size_t>(i)], 0.f);
}

INSTANTIATE_TEST_SUITE_P(Loops, EachIsa, ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         isa_name);

TEST(Dispatch, PicksTheWidestTheCpuRuns) {
  const auto supported = supported_loops();
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(supported.front()->isa, Isa::kScalar);
  if (std::getenv("LAT_ISA") == nullptr) {
    EXPECT_EQ(loops().isa, supported.back()->isa);
  }
  std::printf("loops: %s (this CPU runs %zu variants)\n", loops().name, supported.size());
}

// One linear layer for every epilogue and odd shape, against Eigen.
TEST(Kernels, LinearMatchesNaiveForEveryEpilogueAndShape) {
  for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh, Epilogue::kRelu,
                     Epilogue::kTanh}) {
    const std::tuple<int, int, int> shapes[] = {
        {1, 5, 7}, {3, 33, 1}, {17, 64, 100}, {64, 384, 37}, {130, 19, 64}};
    for (auto [rows, in, out] : shapes) {
      const auto w = random_values(static_cast<std::size_t>(in * out), 21u, 0.2f);
      const auto b = random_values(static_cast<std::size_t>(out), 22u);
      auto x = random_values(static_cast<std::size_t>(rows * in), 23u, 2.f);
      const Linear linear(w, b, in, out, e);
      std::vector<float> y(static_cast<std::size_t>(rows * out));
      linear(f32_rows(x.data(), in), rows, f32_rows(y.data(), out));
      const Matrix X = as_matrix(x, rows, in), W = as_matrix(w, out, in);
      const Matrix ref = X * W.transpose();
      const Matrix magnitude = X.cwiseAbs() * W.cwiseAbs().transpose();
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < out; ++c) {
          const double expect = activation(e, ref(r, c) + b[static_cast<std::size_t>(c)]);
          const double tolerance = (1e-5 * magnitude(r, c) + 1e-6) * kSlope;
          ASSERT_NEAR(y[static_cast<std::size_t>(r * out + c)], expect, tolerance)
              << rows << "x" << in << "x" << out << " epilogue " << static_cast<int>(e) << " at "
              << r << "," << c;
        }
      }
    }
  }
}

// Attention products and row compaction against Eigen.
class Attention : public ::testing::TestWithParam<int> {};

TEST_P(Attention, ScoresAndContextMatchNaive) {
  const int n = GetParam(), dh = 16, heads = 2, d = heads * dh, ld = 3 * d;
  auto qkv = random_values(static_cast<std::size_t>(n * ld), static_cast<unsigned>(n), 1.5f);
  const Matrix all = as_matrix(qkv, n, ld);
  std::vector<float> scores(static_cast<std::size_t>(heads * n * n));
  attention_scores(f32_rows(qkv.data(), ld), n, heads, dh, scores.data());
  std::vector<int> kept;  // context for every other row
  for (int i = 0; i < n; i += 2) kept.push_back(i);
  const int k = static_cast<int>(kept.size());
  std::vector<Matrix> p_ref;
  for (int h = 0; h < heads; ++h) {
    const Matrix q = all.block(0, h * dh, n, dh), key = all.block(0, d + h * dh, n, dh);
    const Matrix s = q * key.transpose();
    float* block = scores.data() + static_cast<std::size_t>(h * n * n);
    for (int i = 0; i < n * n; ++i)
      ASSERT_NEAR(block[i], s(i / n, i % n), 1e-5 * (1 + std::abs(s(i / n, i % n))));
    std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
    loops().softmax_acc(block, n, 0.25f, acc.data());
    p_ref.push_back(as_matrix({block, block + n * n}, n, n));
    compact_rows(block, DType::kF32, n, kept);
  }
  std::vector<float> out(static_cast<std::size_t>(k * d));
  attention_context(f32_rows(qkv.data(), ld), n, heads, dh, scores.data(), k,
                    f32_rows(out.data(), d));
  for (int h = 0; h < heads; ++h) {
    const Matrix v = all.block(0, 2 * d + h * dh, n, dh);
    for (int t = 0; t < k; ++t) {
      const Eigen::RowVectorXd expect =
          p_ref[static_cast<std::size_t>(h)].row(kept[static_cast<std::size_t>(t)]) * v;
      for (int c = 0; c < dh; ++c) {
        ASSERT_NEAR(out[static_cast<std::size_t>(t * d + h * dh + c)], expect(c), 1e-5);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, Attention, ::testing::Values(1, 2, 3, 16, 33, 130));

}  // namespace
}  // namespace lat::kernels
