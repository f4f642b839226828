// Every kernel against a naive twin written with Eigen in double precision, for every instruction
// set variant of lat's loops this CPU runs, every precision and odd shapes. Tolerances follow from
// the precision and are stated where they are checked:
// - fp32 products: 1e-5 of sum_k |x_k w_k| (fp32 rounding grows with the depth);
// - bf16 products: x and w are rounded to 8 significant bits (relative error 2^-9 each), so
//   2^-8 + 1e-5 of sum_k |x_k w_k|, plus 2^-9 |y| when y itself is bf16;
// - int8 products: x_k (uint8 over its row's range) is off by at most half its row's step, w_k
//   (int8) by half its column's step; the bound sum_k (|w_k| dx + |x_k| dw + dx dw) with dx, dw
//   those half steps is exact arithmetic, checked with 1% slack plus the fp32 term;
// - an epilogue multiplies the error by at most its largest slope (1.13 for GELU).
// The loops' own arithmetic is held to 1e-6 relative (exp, erf and tanh approximations of about
// 1.2e-7, and fp32 sums).
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/attention.hpp"
#include "kernels/cpu/loops.hpp"
#include "kernels/linear.hpp"
#include "kernels/onednn.hpp"
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

double bf16_value(std::uint16_t b) {
  std::uint32_t bits = std::uint32_t{b} << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest even at bf16, the naive way: through double arithmetic on the spacing.
double bf16_round(float f) {
  if (f == 0 || !std::isfinite(f)) return f;
  int exponent;
  std::frexp(static_cast<double>(f), &exponent);
  const double ulp = std::ldexp(1.0, exponent - 8);
  return std::nearbyint(static_cast<double>(f) / ulp) * ulp;
}

// Rounds v to bf16 in place and returns the bf16 bits of each value.
std::vector<std::uint16_t> to_bf16(std::vector<float>& v) {
  std::vector<std::uint16_t> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i] = static_cast<float>(bf16_round(v[i]));
    std::uint32_t bits;
    std::memcpy(&bits, &v[i], 4);
    out[i] = static_cast<std::uint16_t>(bits >> 16);
  }
  return out;
}

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
  switch (info.param) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
    case Isa::kAmx:
      break;
  }
  return "amx";
}

// softmax with ACC, with the probabilities also in bf16 and not.
TEST_P(EachIsa, SoftmaxAccMatchesNaive) {
  const Loops& loops = loops_for();
  for (int n : {1, 2, 3, 15, 16, 17, 33, 64, 100, 130}) {
    for (bool bf16 : {false, true}) {
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
      std::vector<std::uint16_t> probs_bf16(bf16 ? scores.size() : 0);
      loops.softmax_acc(scores.data(), n, n, n, scale, acc.data(),
                        bf16 ? probs_bf16.data() : nullptr);
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) {
          const std::size_t at = static_cast<std::size_t>(i * n + j);
          if (bf16) {  // the probability rounded once
            ASSERT_NEAR(bf16_value(probs_bf16[at]), p(i, j), 1e-6 + p(i, j) / 256) << n;
          } else {
            ASSERT_NEAR(scores[at], p(i, j), 1e-6) << "n " << n << " at " << i << "," << j;
          }
        }
      }
      for (int j = 0; j < n; ++j)
        ASSERT_NEAR(acc[static_cast<std::size_t>(j)], acc_ref(j), 1e-6 * n);
    }
  }
}

// Masked scores (a local window's, -1e30) get no probability worth the name, and the others
// the softmax of the unmasked scores alone.
TEST_P(EachIsa, MaskedScoresGetNoProbability) {
  for (int n : {37, 80}) {
    auto scores = random_values(static_cast<std::size_t>(n * n), static_cast<unsigned>(n), 4.f);
    for (std::size_t at = 0; at < scores.size(); at += 3) scores[at] = -1e30f;
    std::vector<float> given = scores, acc(static_cast<std::size_t>(n), 0.f);
    loops_for().softmax_acc(scores.data(), n, n, n, 0.5f, acc.data(), nullptr);
    for (int i = 0; i < n; ++i) {
      double sum = 0;
      for (int j = 0; j < n; ++j) {
        const float g = given[static_cast<std::size_t>(i * n + j)];
        if (g > -1e29f) sum += std::exp(0.5 * g);
      }
      for (int j = 0; j < n; ++j) {
        const auto at = static_cast<std::size_t>(i * n + j);
        const double want = given[at] > -1e29f ? std::exp(0.5 * given[at]) / sum : 0.0;
        ASSERT_NEAR(scores[at], want, 1e-6) << "n " << n << " at " << i << "," << j;
        if (given[at] <= -1e29f) {
          ASSERT_LE(scores[at], 1e-37f);
        }
      }
    }
  }
}

TEST_P(EachIsa, EqualScoresGiveEqualAcc) {
  // Identical key rows get identical scores: their ACC ties exactly, whatever the lanes.
  for (int n : {37, 70}) {
    std::vector<float> scores(static_cast<std::size_t>(n * n));
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j)
        scores[static_cast<std::size_t>(i * n + j)] = 0.25f * static_cast<float>(i);
    }
    std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
    loops_for().softmax_acc(scores.data(), n, n, n, 0.5f, acc.data(), nullptr);
    for (int j = 1; j < n; ++j) EXPECT_EQ(acc[static_cast<std::size_t>(j)], acc[0]) << n;
  }
}

TEST_P(EachIsa, LayerNormMatchesNaive) {
  const Loops& loops = loops_for();
  // The residual's rows where they are, or some of them read in place (a pruned layer's).
  enum Residual { kNone, kSame, kGathered };
  const std::vector<int> at = {6, 0, 2, 3, 5};
  for (int d : {1, 7, 16, 33, 384}) {
    for (Residual with : {kNone, kSame, kGathered}) {
      const std::int64_t rows = 5;
      auto x =
          random_values(static_cast<std::size_t>(rows * d), 3u + static_cast<unsigned>(d), 3.f);
      const auto residual = random_values(static_cast<std::size_t>(7 * d), 5u, 2.f);
      const auto gamma = random_values(static_cast<std::size_t>(d), 7u);
      const auto beta = random_values(static_cast<std::size_t>(d), 9u);
      Matrix in = as_matrix(x, rows, d);
      const Matrix all = as_matrix(residual, 7, d);
      for (std::int64_t r = 0; r < rows; ++r) {
        if (with == kSame) in.row(r) += all.row(r);
        if (with == kGathered) in.row(r) += all.row(at[static_cast<std::size_t>(r)]);
      }
      const float eps = 1e-12f;
      loops.add_layer_norm(x.data(), with == kNone ? nullptr : residual.data(),
                           with == kGathered ? at.data() : nullptr, rows, d, gamma.data(),
                           beta.data(), eps, {});
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

TEST_P(EachIsa, AddRowsReadsTheResidualWhereItIs) {
  const std::vector<int> at = {2, 0, 3};
  for (bool gathered : {false, true}) {
    auto x = random_values(3 * 33, 13u);
    const auto residual = random_values(4 * 33, 15u);
    const Matrix before = as_matrix(x, 3, 33), all = as_matrix(residual, 4, 33);
    loops_for().add_rows(x.data(), residual.data(), gathered ? at.data() : nullptr, 3, 33);
    for (int r = 0; r < 3; ++r) {
      const int from = gathered ? at[static_cast<std::size_t>(r)] : r;
      for (int i = 0; i < 33; ++i) {
        ASSERT_EQ(x[static_cast<std::size_t>(r * 33 + i)],
                  static_cast<float>(before(r, i)) + static_cast<float>(all(from, i)));
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

// The naive twin of a row's uint8 codes: its values beyond 4 root mean squares (the four largest
// if more, largest first, ties to the earlier column) kept, the rest over [min(x, 0), max(x, 0)]
// in 255 steps. The test data keep every value well away from the threshold.
struct NaiveCode {
  std::vector<int> outliers;
  float scale, inv;
  std::int32_t zero;
};

NaiveCode naive_code(const float* x, int cols) {
  NaiveCode c;
  std::vector<int> order(static_cast<std::size_t>(cols));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return std::abs(x[a]) > std::abs(x[b]); });
  float squares = 0;  // in fp32, as the kernel: a row of 1e-30 has none
  for (int j = 0; j < cols; ++j) squares += x[j] * x[j];
  const double threshold = 4 * std::sqrt(double{squares} / cols);
  for (int j : order) {
    if (cols <= 16 || squares == 0 || c.outliers.size() == RowCode::kOutliers ||
        std::abs(x[j]) < threshold) {
      break;
    }
    c.outliers.push_back(j);
  }
  float lo = 0, hi = 0;
  for (int j = 0; j < cols; ++j) {
    if (std::find(c.outliers.begin(), c.outliers.end(), j) != c.outliers.end()) continue;
    lo = std::min(lo, x[j]);
    hi = std::max(hi, x[j]);
  }
  c.scale = (hi - lo) / 255.0f;
  c.inv = c.scale > 0 ? 1.0f / c.scale : 0.0f;
  c.zero = static_cast<std::int32_t>(std::nearbyint(-lo * c.inv));
  return c;
}

// A row's uint8 codes as their naive twin gives them: the same outliers, kept exactly, and every
// other value on the nearest step.
void expect_codes_of(const float* row, int cols, const std::uint8_t* q, const RowCode& code) {
  const NaiveCode expect = naive_code(row, cols);
  ASSERT_EQ(code.outliers, static_cast<int>(expect.outliers.size())) << cols;
  for (int i = 0; i < code.outliers; ++i) {
    ASSERT_EQ(code.column[i], expect.outliers[static_cast<std::size_t>(i)]) << cols;
    ASSERT_EQ(code.value[i], row[code.column[i]]);
  }
  ASSERT_EQ(code.scale, expect.scale);
  ASSERT_EQ(code.zero, expect.zero);
  for (int j = 0; j < cols; ++j) {
    if (std::find(expect.outliers.begin(), expect.outliers.end(), j) != expect.outliers.end()) {
      ASSERT_EQ(q[j], code.zero);
      continue;
    }
    ASSERT_EQ(q[j], std::clamp(std::nearbyint(row[j] * expect.inv) + static_cast<float>(code.zero),
                               0.f, 255.f));
    ASSERT_LE(std::abs((q[j] - code.zero) * double{code.scale} - row[j]),
              0.5001 * code.scale + 1e-30);
  }
}

// Quantization: bf16 rounds to nearest even exactly; uint8 rows keep their outliers exactly and
// put every other value on the nearest step; int8 weights map max |w| to qmax.
TEST_P(EachIsa, ConvertAndQuantizeRoundExactly) {
  const Loops& loops = loops_for();
  for (int cols : {1, 5, 16, 17, 100, 384}) {
    const std::int64_t rows = 4, ld = cols + 3;
    auto x = random_values(static_cast<std::size_t>(rows * ld), static_cast<unsigned>(cols), 5.f);
    std::fill_n(x.begin(), cols, 0.f);  // a row of zeros: scale 0, every value 0
    x[static_cast<std::size_t>(ld)] = 1e-30f;
    if (cols > 16) {
      // Outlier channels: one in row 2; five in row 3, across the row and each larger than the
      // one before (the four largest kept), then one beyond 4 RMS but below the four.
      x[static_cast<std::size_t>(2 * ld + 7)] = 300.f;
      for (int i = 0; i < 5; ++i)
        x[static_cast<std::size_t>(3 * ld + i * (cols / 5))] =
            (i % 2 ? 1.f : -1.f) * (50.f + static_cast<float>(i));
      x[static_cast<std::size_t>(3 * ld + cols - 1)] = -45.f;
    }
    std::vector<std::uint16_t> b(static_cast<std::size_t>(rows * cols));
    loops.convert(x.data(), rows, cols, ld, {DType::kBF16, b.data(), cols});
    std::vector<std::uint8_t> u(static_cast<std::size_t>(rows * cols));
    std::vector<RowCode> codes(static_cast<std::size_t>(rows));
    loops.convert(x.data(), rows, cols, ld, {DType::kU8, u.data(), cols, codes.data()});
    for (std::int64_t r = 0; r < rows; ++r) {
      const float* row = x.data() + r * ld;
      SCOPED_TRACE("row " + std::to_string(r));
      expect_codes_of(row, cols, u.data() + r * cols, codes[static_cast<std::size_t>(r)]);
      for (int j = 0; j < cols; ++j) {
        ASSERT_EQ(bf16_value(b[static_cast<std::size_t>(r * cols + j)]), bf16_round(row[j]));
      }
    }
    for (int qmax : {127, 63}) {
      std::vector<std::int8_t> q(static_cast<std::size_t>(rows * cols));
      std::vector<float> scales(static_cast<std::size_t>(rows));
      const std::vector<float> w(x.begin(), x.begin() + rows * cols);  // rows of cols, dense
      loops.quantize_weights(w.data(), rows, cols, qmax, q.data(), scales.data());
      for (std::int64_t r = 0; r < rows; ++r) {
        float amax = 0;
        for (int j = 0; j < cols; ++j)
          amax = std::max(amax, std::abs(w[static_cast<std::size_t>(r * cols + j)]));
        ASSERT_EQ(scales[static_cast<std::size_t>(r)], amax / static_cast<float>(qmax));
        const float inv = amax > 0 ? static_cast<float>(qmax) / amax : 0.f;
        for (int j = 0; j < cols; ++j) {
          const auto at = static_cast<std::size_t>(r * cols + j);
          ASSERT_EQ(q[at], static_cast<std::int8_t>(std::nearbyint(w[at] * inv)));
          ASSERT_LE(std::abs(q[at]), qmax);
        }
      }
    }
  }
}

// The next product's uint8 input, written by the layer norm as it makes each row (which passes
// the sum of the row's squares it finds there): the codes of the rows it leaves in x.
TEST_P(EachIsa, LayerNormWritesTheCodesOfItsRows) {
  for (int d : {7, 33, 384}) {
    const std::int64_t rows = 4;
    auto x = random_values(static_cast<std::size_t>(rows * d), 17u + static_cast<unsigned>(d));
    auto gamma = random_values(static_cast<std::size_t>(d), 19u);
    const auto beta = random_values(static_cast<std::size_t>(d), 21u);
    if (d > 16) {  // channels the norm makes outliers, as trained models have them
      gamma[3] = 40.f;
      gamma[static_cast<std::size_t>(d) - 2] = -60.f;
    }
    std::vector<std::uint8_t> u(static_cast<std::size_t>(rows * d));
    std::vector<RowCode> codes(static_cast<std::size_t>(rows));
    loops_for().add_layer_norm(x.data(), nullptr, nullptr, rows, d, gamma.data(), beta.data(),
                               1e-12f, {DType::kU8, u.data(), d, codes.data()});
    for (std::int64_t r = 0; r < rows; ++r) {
      SCOPED_TRACE("d " + std::to_string(d) + " row " + std::to_string(r));
      expect_codes_of(x.data() + r * d, d, u.data() + r * d, codes[static_cast<std::size_t>(r)]);
      if (d > 16) {
        EXPECT_GE(codes[static_cast<std::size_t>(r)].outliers, 1);
      }
    }
  }
}

TEST_P(EachIsa, DequantizeWithEveryEpilogueAndOutputMatchesNaive) {
  const Loops& loops = loops_for();
  const std::int64_t rows = 6;
  const int depth = 50;  // the product's inputs, which the outliers index
  for (int cols : {1, 7, 33, 100}) {
    std::mt19937 rng(static_cast<unsigned>(cols));
    std::uniform_int_distribution<std::int32_t> acc_dist(-200000, 2000000), code_dist(0, 255),
        sum_dist(-3000, 3000), weight_dist(-127, 127), column_dist(0, depth - 1);
    std::vector<std::int32_t> acc(static_cast<std::size_t>(rows * cols)),
        sums(static_cast<std::size_t>(cols));
    std::vector<std::int8_t> by_input(static_cast<std::size_t>(depth * cols));
    for (auto& a : acc) a = acc_dist(rng);
    for (auto& c : sums) c = sum_dist(rng);
    for (auto& q : by_input) q = static_cast<std::int8_t>(weight_dist(rng));
    const auto row_scales = random_values(static_cast<std::size_t>(rows), 1u, 1e-3f);
    const auto values = random_values(static_cast<std::size_t>(rows * RowCode::kOutliers), 4u, 9.f);
    std::vector<RowCode> in_codes(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) {
      RowCode& c = in_codes[static_cast<std::size_t>(r)];
      c.scale = row_scales[static_cast<std::size_t>(r)];
      c.zero = code_dist(rng);
      c.outliers = static_cast<int>(r % (RowCode::kOutliers + 1));  // 0 to 4 of them
      for (int i = 0; i < c.outliers; ++i) {
        c.column[i] = column_dist(rng);
        c.value[i] = values[static_cast<std::size_t>(r * RowCode::kOutliers + i)];
      }
    }
    const auto col_scales = random_values(static_cast<std::size_t>(cols), 2u, 1e-3f);
    const auto bias = random_values(static_cast<std::size_t>(cols), 3u);
    const Rows in{DType::kU8, nullptr, cols, in_codes.data()};
    const Int8Weights weights{col_scales.data(), sums.data(), by_input.data()};
    std::vector<float> scratch(static_cast<std::size_t>(64 * cols));
    for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh, Epilogue::kRelu,
                       Epilogue::kTanh}) {
      std::vector<float> f32(acc.size());
      std::vector<std::uint16_t> b16(acc.size());
      std::vector<std::uint8_t> u8(acc.size());
      std::vector<RowCode> u8_codes(static_cast<std::size_t>(rows));
      for (const Rows& out : {f32_rows(f32.data(), cols), Rows{DType::kBF16, b16.data(), cols},
                              Rows{DType::kU8, u8.data(), cols, u8_codes.data()}}) {
        loops.dequantize(acc.data(), rows, cols, in, weights, bias.data(), e, out, scratch.data());
      }
      for (std::int64_t r = 0; r < rows; ++r) {
        const RowCode& c = in_codes[static_cast<std::size_t>(r)];
        std::vector<float> expect(static_cast<std::size_t>(cols));
        for (int j = 0; j < cols; ++j) {
          const auto at = static_cast<std::size_t>(r * cols + j);
          double sum =
              (double(acc[at]) - double(c.zero) * sums[static_cast<std::size_t>(j)]) * c.scale;
          double magnitude = std::abs(sum);
          for (int i = 0; i < c.outliers; ++i) {
            const double term =
                double{c.value[i]} * by_input[static_cast<std::size_t>(c.column[i] * cols + j)];
            sum += term;
            magnitude += std::abs(term);
          }
          const double v =
              sum * col_scales[static_cast<std::size_t>(j)] + bias[static_cast<std::size_t>(j)];
          const double y = activation(e, v);
          expect[static_cast<std::size_t>(j)] = static_cast<float>(y);
          const double tolerance =
              1e-6 *
              (1 + magnitude * std::abs(col_scales[static_cast<std::size_t>(j)]) + std::abs(v));
          ASSERT_NEAR(f32[at], y, tolerance) << "cols " << cols << " epilogue " << int(e);
          ASSERT_NEAR(bf16_value(b16[at]), y, tolerance + std::abs(y) / 256);
        }
        // The uint8 output row is the fp32 row's codes, as their naive twin says, and decodes to
        // within half a step.
        const float* row = f32.data() + r * cols;
        const NaiveCode twin = naive_code(row, cols);
        const RowCode& out = u8_codes[static_cast<std::size_t>(r)];
        ASSERT_EQ(out.outliers, static_cast<int>(twin.outliers.size()));
        ASSERT_EQ(out.scale, twin.scale);
        ASSERT_EQ(out.zero, twin.zero);
        for (int j = 0; j < cols; ++j) {
          const float y = row[j];
          const auto slot = std::find(out.column, out.column + out.outliers, j) - out.column;
          const double decoded =
              slot < out.outliers
                  ? out.value[slot]
                  : (u8[static_cast<std::size_t>(r * cols + j)] - out.zero) * double{out.scale};
          ASSERT_NEAR(decoded, y, 0.5001 * out.scale);
        }
      }
    }
  }
}

// A gated feed-forward's inner rows, act(a) * g, for every activation and widths across the
// vector lanes: 1e-6 relative, the loops' own arithmetic.
TEST_P(EachIsa, GatedMatchesNaive) {
  const Loops& loops = loops_for();
  for (const Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh,
                           Epilogue::kRelu, Epilogue::kTanh}) {
    for (const int width : {1, 7, 16, 33, 100}) {
      const int rows = 5;
      const auto in =
          random_values(static_cast<std::size_t>(rows * 2 * width), static_cast<unsigned>(width));
      std::vector<float> out(static_cast<std::size_t>(rows * width), -1.f);
      loops.gated(in.data(), rows, width, e, out.data());
      for (int r = 0; r < rows; ++r) {
        for (int j = 0; j < width; ++j) {
          const double a = in[static_cast<std::size_t>(r * 2 * width + j)];
          const double g = in[static_cast<std::size_t>(r * 2 * width + width + j)];
          const double expect = activation(e, a) * g;
          ASSERT_NEAR(out[static_cast<std::size_t>(r * width + j)], expect,
                      1e-6 * (1 + std::abs(expect)))
              << "width " << width << " row " << r << " column " << j;
        }
      }
    }
  }
}

// The softmax of a block of rows is the softmax of those rows in the whole, whatever lies between
// the rows: a head's rows in blocks of 16, ld floats apart (padding between them), give what the
// head gives at once, bit for bit, ACC included.
TEST_P(EachIsa, SoftmaxAccByRowsEqualsWhole) {
  const Loops& loops = loops_for();
  for (int n : {17, 40, 64, 130}) {
    const int ld = n + 19;
    auto whole = random_values(static_cast<std::size_t>(n * n), static_cast<unsigned>(n), 4.f);
    std::vector<float> by_rows(static_cast<std::size_t>(n * ld), 7.0f);
    for (int i = 0; i < n; ++i) std::copy_n(whole.begin() + i * n, n, by_rows.begin() + i * ld);
    std::vector<float> acc_whole(static_cast<std::size_t>(n), 0.f), acc_rows(acc_whole);
    std::vector<std::uint16_t> p_whole(whole.size()), p_rows(whole.size());
    loops.softmax_acc(whole.data(), n, n, n, 0.3f, acc_whole.data(), p_whole.data());
    for (int row = 0; row < n; row += 16) {
      loops.softmax_acc(by_rows.data() + row * ld, std::min(16, n - row), n, ld, 0.3f,
                        acc_rows.data(), p_rows.data() + row * n);
    }
    EXPECT_EQ(p_rows, p_whole) << n;
    for (int j = 0; j < n; ++j) {
      ASSERT_NEAR(acc_rows[static_cast<std::size_t>(j)], acc_whole[static_cast<std::size_t>(j)],
                  1e-6)
          << n;
    }
  }
}

// One head's scores from AMX tiles (the "amx" variant alone), 16 rows at a time, for lengths
// with and without a tail of keys or rows, every head width the tiles take, every head; bf16
// inputs are exact in fp32, so the sums are within 1e-5 of sum |q k|.
TEST_P(EachIsa, TileScoresMatchNaive) {
  const Loops& loops = loops_for();
  if (loops.scores_rows == nullptr) GTEST_SKIP() << "only the amx variant has tiles";
  loops.begin_tiles();
  for (const int dh : {32, 64, 96, 128}) {
    for (const int n : {1, 5, 16, 17, 33, 70, 130}) {
      const int heads = 3, d = heads * dh, ld = 3 * d;
      auto qkv = random_values(static_cast<std::size_t>(n * ld), static_cast<unsigned>(n + dh));
      std::vector<std::uint16_t> qkv16 = to_bf16(qkv);
      const Rows in{DType::kBF16, qkv16.data(), ld};
      const Matrix all = as_matrix(qkv, n, ld);
      std::vector<std::uint16_t> packed(packed_keys_size(n, dh));
      std::vector<float> out(tile_scores_size(n));
      for (int h = 0; h < heads; ++h) {
        SCOPED_TRACE("n " + std::to_string(n) + " dh " + std::to_string(dh) + " head " +
                     std::to_string(h));
        const Matrix q = all.block(0, h * dh, n, dh), key = all.block(0, d + h * dh, n, dh);
        const Matrix s = q * key.transpose(), bound = q.cwiseAbs() * key.cwiseAbs().transpose();
        loops.pack_keys(in, n, heads, dh, h, packed.data());
        for (int row = 0; row < n; row += kTileRows) {
          loops.scores_rows(in, n, heads, dh, h, row, packed.data(), out.data());
          for (int i = row; i < std::min(n, row + kTileRows); ++i) {
            for (int j = 0; j < n; ++j) {
              ASSERT_NEAR(out[static_cast<std::size_t>((i - row) * tile_row_floats(n) + j)],
                          s(i, j), 1e-5 * (1 + bound(i, j)))
                  << "row " << i << " column " << j;
            }
          }
        }
      }
    }
  }
  loops.end_tiles();
}

// One head's P V from AMX tiles (the "amx" variant alone), 16 rows at a time, for lengths with
// and without a tail of keys or rows, every head width the tiles take, every head, into fp32 and
// bf16 rows of the whole width d; bf16 inputs are exact in fp32, so the sums are within 1e-5 of
// sum |p v|, and a bf16 output adds half its step, at most 2^-8 |y|. Past the rows, P holds a
// large finite value, which keys beyond n must multiply by zero.
TEST_P(EachIsa, TileContextMatchesNaive) {
  const Loops& loops = loops_for();
  if (loops.context_rows == nullptr) GTEST_SKIP() << "only the amx variant has tiles";
  loops.begin_tiles();
  for (const DType type : {DType::kF32, DType::kBF16}) {
    for (const int dh : {32, 64, 96, 128}) {
      for (const int n : {1, 5, 16, 17, 33, 70, 130}) {
        const int heads = 3, d = heads * dh, ld = 3 * d;
        auto qkv = random_values(static_cast<std::size_t>(n * ld), static_cast<unsigned>(n + dh));
        std::vector<std::uint16_t> qkv16 = to_bf16(qkv);
        auto probs = random_values(static_cast<std::size_t>(n * n), static_cast<unsigned>(n));
        for (float& x : probs) x = std::abs(x);
        const std::vector<std::uint16_t> probs16 = to_bf16(probs);
        const Rows in{DType::kBF16, qkv16.data(), ld};
        const Matrix all = as_matrix(qkv, n, ld), p = as_matrix(probs, n, n);
        std::vector<std::uint16_t> packed(packed_values_size(n, dh)), rows16(tile_probs_size(n));
        std::vector<float> out32(static_cast<std::size_t>(n * d), -1.f);
        std::vector<std::uint16_t> out16(out32.size(), 0xbf80);  // -1
        const Rows out =
            type == DType::kF32 ? Rows{type, out32.data(), d} : Rows{type, out16.data(), d};
        for (int h = 0; h < heads; ++h) {
          SCOPED_TRACE("n " + std::to_string(n) + " dh " + std::to_string(dh) + " head " +
                       std::to_string(h) + (type == DType::kF32 ? " fp32" : " bf16"));
          loops.pack_values(in, n, heads, dh, h, packed.data());
          for (int row = 0; row < n; row += kTileRows) {
            const int count = std::min(kTileRows, n - row);
            std::fill(rows16.begin(), rows16.end(), std::uint16_t{0x7f7f});  // finite, large
            std::copy_n(probs16.begin() + std::int64_t{row} * n, std::int64_t{count} * n,
                        rows16.begin());
            auto* at = static_cast<std::byte*>(out.from(row).data) +
                       static_cast<std::size_t>(h * dh) * size_of(type);
            loops.context_rows(rows16.data(), n, packed.data(), dh, count, Rows{type, at, d});
          }
        }
        const Matrix v_all = all.block(0, 2 * d, n, d);
        for (int h = 0; h < heads; ++h) {
          const Matrix v = v_all.block(0, h * dh, n, dh);
          const Matrix y = p * v, bound = p.cwiseAbs() * v.cwiseAbs();
          for (int i = 0; i < n; ++i) {
            for (int j = 0; j < dh; ++j) {
              const auto at = static_cast<std::size_t>(i * d + h * dh + j);
              const double got = type == DType::kF32 ? out32[at] : bf16_value(out16[at]);
              const double tolerance =
                  1e-5 * (1 + bound(i, j)) +
                  (type == DType::kBF16 ? std::ldexp(std::abs(y(i, j)), -8) : 0.0);
              ASSERT_NEAR(got, y(i, j), tolerance) << "row " << i << " column " << j;
            }
          }
        }
      }
    }
  }
  loops.end_tiles();
}

// One head's products from packed QKV rows, fp32 and bf16, for lengths across the row blocks
// and lanes, head widths with and without a tail of lanes, every head (the last one's V ends
// the row). fp32 sums to 1e-5 of sum |x y|; bf16 inputs are exact in fp32, so the same; a bf16
// output adds half its step, at most 2^-8 |y|.
TEST_P(EachIsa, HeadScoresAndContextMatchNaive) {
  const Loops& loops = loops_for();
  for (const DType type : {DType::kF32, DType::kBF16}) {
    for (const int dh : {16, 20, 32, 48, 64}) {
      for (const int n : {1, 2, 3, 5, 16, 17, 33, 70}) {
        const int heads = 3, d = heads * dh, ld = 3 * d;
        auto qkv = random_values(static_cast<std::size_t>(n * ld), static_cast<unsigned>(n + dh));
        std::vector<std::uint16_t> qkv16(qkv.size());
        if (type == DType::kBF16) qkv16 = to_bf16(qkv);
        const Rows in{type, type == DType::kBF16 ? static_cast<void*>(qkv16.data()) : qkv.data(),
                      ld};
        const Matrix all = as_matrix(qkv, n, ld);
        std::vector<int> rows;  // every third row, ascending, the last one always
        for (int i = n - 1; i >= 0; i -= 3) rows.insert(rows.begin(), i);
        const int k = static_cast<int>(rows.size());
        std::vector<float> scores(static_cast<std::size_t>(n * n)),
            scratch(head_scores_scratch(n, dh));
        std::vector<float> out32(static_cast<std::size_t>(k * d), -1.f);
        std::vector<std::uint16_t> out16(out32.size());
        const Rows out =
            type == DType::kBF16 ? Rows{DType::kBF16, out16.data(), d} : f32_rows(out32.data(), d);
        for (int h = 0; h < heads; ++h) {
          SCOPED_TRACE(std::string(type == DType::kBF16 ? "bf16" : "fp32") + " n " +
                       std::to_string(n) + " dh " + std::to_string(dh) + " head " +
                       std::to_string(h));
          loops.head_scores(in, n, heads, dh, h, scores.data(), scratch.data());
          const Matrix q = all.block(0, h * dh, n, dh), key = all.block(0, d + h * dh, n, dh),
                       v = all.block(0, 2 * d + h * dh, n, dh);
          const Matrix s = q * key.transpose(), bound = q.cwiseAbs() * key.cwiseAbs().transpose();
          for (int i = 0; i < n; ++i) {
            for (int j = 0; j < n; ++j) {
              ASSERT_NEAR(scores[static_cast<std::size_t>(i * n + j)], s(i, j),
                          1e-5 * (1 + bound(i, j)));
            }
          }
          // Any row-stochastic P will do: the softmax of the scores.
          std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
          loops.softmax_acc(scores.data(), n, n, n, 0.5f, acc.data(), nullptr);
          const Matrix p = as_matrix(scores, n, n);
          loops.head_context(in, n, heads, dh, h, scores.data(), rows.data(), k, out);
          for (int t = 0; t < k; ++t) {
            const Eigen::RowVectorXd expect = p.row(rows[static_cast<std::size_t>(t)]) * v;
            const Eigen::RowVectorXd size =
                p.row(rows[static_cast<std::size_t>(t)]).cwiseAbs() * v.cwiseAbs();
            for (int c = 0; c < dh; ++c) {
              const auto at = static_cast<std::size_t>(t * d + h * dh + c);
              const double got = type == DType::kBF16 ? bf16_value(out16[at]) : out32[at];
              const double tolerance =
                  1e-5 * (1 + size(c)) +
                  (type == DType::kBF16 ? std::ldexp(std::abs(expect(c)), -8) : 0);
              ASSERT_NEAR(got, expect(c), tolerance);
            }
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Loops, EachIsa,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAmx),
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

// One linear layer for every precision, epilogue and odd shape, against Eigen.
class EachPrecision : public ::testing::TestWithParam<Precision> {};

TEST_P(EachPrecision, LinearMatchesNaiveForEveryEpilogueAndShape) {
  const Precision precision = GetParam();
  if (precision == Precision::kBf16 && !onednn::has_bf16()) {
    GTEST_SKIP() << "oneDNN runs no bf16 products on this CPU (it needs AVX-512)";
  }
  const double weight_step_limit = onednn::int8_weight_limit();
  for (Epilogue e : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh, Epilogue::kRelu,
                     Epilogue::kTanh}) {
    // 517 x 1,500: an int8 product in blocks, several a thread, the last one shorter. 115 rows:
    // pieces of 64, 48 and 3 rows (Linear's even pieces).
    const std::tuple<int, int, int> shapes[] = {{1, 5, 7},      {3, 33, 1},    {17, 64, 100},
                                                {64, 384, 37},  {130, 19, 64}, {115, 40, 96},
                                                {517, 24, 1500}};
    for (auto [rows, in, out] : shapes) {
      const auto w = random_values(static_cast<std::size_t>(in * out), 21u, 0.2f);
      const auto b = random_values(static_cast<std::size_t>(out), 22u);
      auto x = random_values(static_cast<std::size_t>(rows * in), 23u, 2.f);
      const Linear linear(w, b, in, out, precision, e);
      ASSERT_EQ(linear.input_type(), precision == Precision::kInt8   ? DType::kU8
                                     : precision == Precision::kBf16 ? DType::kBF16
                                                                     : DType::kF32);
      std::vector<float> x_in(x.size());
      std::vector<RowCode> x_codes(static_cast<std::size_t>(rows));
      const Rows input{linear.input_type(), x_in.data(), in, x_codes.data()};
      convert(x.data(), rows, in, in, input);
      const bool bf16_out = precision == Precision::kBf16;
      std::vector<float> y(static_cast<std::size_t>(rows * out));
      std::vector<std::uint16_t> y16(y.size());
      linear(input, rows, f32_rows(y.data(), out));
      if (bf16_out) linear(input, rows, {DType::kBF16, y16.data(), out});

      const Matrix X = as_matrix(x, rows, in), W = as_matrix(w, out, in);
      const Matrix ref = X * W.transpose();
      const Matrix magnitude = X.cwiseAbs() * W.cwiseAbs().transpose();
      // int8: the half step of each element of x (0 for a row's outliers, kept exactly) and of
      // each output channel of w.
      Matrix dx(rows, in);
      for (int r = 0; r < rows; ++r) {
        const RowCode& code = x_codes[static_cast<std::size_t>(r)];
        dx.row(r).setConstant(code.scale / 2.0);
        for (int i = 0; i < code.outliers; ++i) dx(r, code.column[i]) = 0;
      }
      const Vector dw = W.cwiseAbs().rowwise().maxCoeff() / weight_step_limit / 2;
      const Matrix int8_bound =
          dx * W.cwiseAbs().transpose() +
          X.cwiseAbs() * (dw.asDiagonal() * Matrix::Ones(out, in)).transpose() +
          dx * (dw.asDiagonal() * Matrix::Ones(out, in)).transpose();
      for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < out; ++c) {
          const double expect = activation(e, ref(r, c) + b[static_cast<std::size_t>(c)]);
          double tolerance = 1e-5 * magnitude(r, c) + 1e-6;
          if (precision == Precision::kBf16) tolerance += magnitude(r, c) / 256;
          if (precision == Precision::kInt8) tolerance += 1.01 * int8_bound(r, c);
          tolerance *= kSlope;
          const auto at = static_cast<std::size_t>(r * out + c);
          ASSERT_NEAR(y[at], expect, tolerance)
              << to_string(precision) << " " << rows << "x" << in << "x" << out << " epilogue "
              << static_cast<int>(e) << " at " << r << "," << c;
          if (bf16_out) {
            ASSERT_NEAR(bf16_value(y16[at]), expect, tolerance + std::abs(expect) / 256);
          }
        }
      }
    }
  }
}

// int8-static: a product whose input rows are written under a fixed code (smoothed columns, a
// fixed outlier column, a range that many values exceed), against Eigen, with the bound of each
// element's error as its code left it: exact in an outlier slot, else half a step, plus the
// saturation of a value beyond the range that found no free slot.
TEST(StaticInt8, LinearUnderAFixedCodeMatchesNaive) {
  const double weight_step_limit = onednn::int8_weight_limit();
  const std::tuple<int, int, int, double> shapes[] = {{1, 5, 7, 1.0},     {3, 33, 1, 0.5},
                                                      {17, 64, 100, 0.8}, {64, 384, 37, 0.3},
                                                      {130, 19, 64, 1.2}, {517, 24, 1500, 0.6}};
  for (auto [rows, in, out, reach] : shapes) {
    const auto w = random_values(static_cast<std::size_t>(in * out), 31u, 0.2f);
    const auto b = random_values(static_cast<std::size_t>(out), 32u);
    const auto x = random_values(static_cast<std::size_t>(rows * in), 33u, 2.f);
    ActivationRange fixed{-2.0 * reach, 1.5 * reach, {in - 1}, {}};
    for (int j = 0; j < in; ++j) fixed.smooth.push_back(0.5f + 1.5f * float(j % 7) / 7.f);
    const Linear linear(w, b, in, out, Precision::kInt8, Epilogue::kNone, &fixed);
    ASSERT_NE(linear.fixed_input(), nullptr);
    std::vector<std::uint8_t> x_in(x.size());
    std::vector<RowCode> x_codes(static_cast<std::size_t>(rows));
    const Rows input{DType::kU8, x_in.data(), in, x_codes.data(), linear.fixed_input()};
    convert(x.data(), rows, in, in, input);
    std::vector<float> y(static_cast<std::size_t>(rows * out));
    linear(input, rows, f32_rows(y.data(), out));

    const double step = (fixed.hi - fixed.lo) / 255;
    const Matrix X = as_matrix(x, rows, in), W = as_matrix(w, out, in);
    Matrix dx(rows, in), smoothed(rows, in);
    for (int r = 0; r < rows; ++r) {
      const RowCode& code = x_codes[static_cast<std::size_t>(r)];
      ASSERT_GE(code.outliers, 1);
      EXPECT_EQ(code.column[0], in - 1) << "the fixed outlier column comes first";
      for (int j = 0; j < in; ++j) {
        const double s = fixed.smooth[static_cast<std::size_t>(j)], v = X(r, j) / s;
        smoothed(r, j) = std::abs(v);
        const double beyond = std::max({0.0, v - fixed.hi, fixed.lo - v});
        dx(r, j) = (beyond + step) * s;  // half a step, with room for the step's own rounding
        for (int i = 0; i < code.outliers; ++i) {
          if (code.column[i] == j) {
            dx(r, j) = 0;
            EXPECT_NEAR(code.value[i], v, 1e-6 * (1 + std::abs(v)));
          }
        }
      }
    }
    Vector dw(out);  // half a step of each output channel's smoothed weights
    for (int c = 0; c < out; ++c) {
      double largest = 0;
      for (int j = 0; j < in; ++j) {
        largest = std::max(largest, std::abs(W(c, j)) * fixed.smooth[static_cast<std::size_t>(j)]);
      }
      dw(c) = largest / weight_step_limit / 2;
    }
    const Matrix bound =
        dx * W.cwiseAbs().transpose() + (smoothed + dx) * Matrix::Ones(in, 1) * dw.transpose();
    const Matrix ref = X * W.transpose();
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < out; ++c) {
        const double expect = ref(r, c) + b[static_cast<std::size_t>(c)];
        ASSERT_NEAR(y[static_cast<std::size_t>(r * out + c)], expect, 1.01 * bound(r, c) + 1e-5)
            << rows << "x" << in << "x" << out << " at " << r << "," << c;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, EachPrecision,
                         ::testing::Values(Precision::kFp32, Precision::kBf16, Precision::kInt8),
                         [](const auto& param) { return std::string(to_string(param.param)); });

TEST(Kernels, Int8WeightsFitTheCpusProducts) {
  // 127 with VNNI; 63 where oneDNN sums pairs of int8 products in 16 bits.
  const int limit = onednn::int8_weight_limit();
  EXPECT_TRUE(limit == 127 || limit == 63);
  std::printf("int8 weights: +-%d\n", limit);
}

// Attention products and row compaction, fp32 and bf16, against Eigen.
class AttentionTypes : public ::testing::TestWithParam<std::tuple<DType, int>> {};

TEST_P(AttentionTypes, ScoresAndContextMatchNaive) {
  const auto [type, n] = GetParam();
  if (type == DType::kBF16 && !onednn::has_bf16()) GTEST_SKIP() << "no bf16 products on this CPU";
  const int dh = 16, heads = 2, d = heads * dh, ld = 3 * d;
  auto qkv = random_values(static_cast<std::size_t>(n * ld), static_cast<unsigned>(n), 1.5f);
  std::vector<std::uint16_t> qkv16(qkv.size());
  if (type == DType::kBF16) {  // the naive twin sees the rounded values
    convert(qkv.data(), n, ld, ld, {DType::kBF16, qkv16.data(), ld});
    for (std::size_t i = 0; i < qkv.size(); ++i) qkv[i] = static_cast<float>(bf16_value(qkv16[i]));
  }
  const Rows rows_in{type, type == DType::kBF16 ? static_cast<void*>(qkv16.data()) : qkv.data(),
                     ld};
  const Matrix all = as_matrix(qkv, n, ld);
  std::vector<float> scores(static_cast<std::size_t>(heads * n * n));
  attention_scores(rows_in, n, heads, dh, scores.data());
  const double score_tolerance = type == DType::kBF16 ? 1e-4 : 1e-5;
  // P: a random row-stochastic matrix per head; context for every other row.
  std::vector<int> kept;
  for (int i = 0; i < n; i += 2) kept.push_back(i);
  const int k = static_cast<int>(kept.size());
  std::vector<float> probs(static_cast<std::size_t>(heads * n * n));
  std::vector<std::uint16_t> probs16(probs.size());
  std::vector<Matrix> p_ref;
  for (int h = 0; h < heads; ++h) {
    const Matrix q = all.block(0, h * dh, n, dh), key = all.block(0, d + h * dh, n, dh);
    const Matrix s = q * key.transpose();
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        ASSERT_NEAR(scores[static_cast<std::size_t>((h * n + i) * n + j)], s(i, j),
                    score_tolerance * (1 + std::abs(s(i, j))));
      }
    }
    std::vector<float> acc(static_cast<std::size_t>(n), 0.f);
    float* block = probs.data() + static_cast<std::size_t>(h * n * n);
    std::copy_n(scores.begin() + h * n * n, n * n, block);
    loops().softmax_acc(block, n, n, n, 0.25f, acc.data(), probs16.data() + h * n * n);
    p_ref.push_back(type == DType::kBF16 ? Matrix(n, n) : as_matrix({block, block + n * n}, n, n));
    if (type == DType::kBF16) {
      for (int i = 0; i < n * n; ++i)
        p_ref.back()(i / n, i % n) = bf16_value(probs16[static_cast<std::size_t>(h * n * n + i)]);
    }
    if (type == DType::kBF16) {
      compact_rows(probs16.data() + h * n * n, DType::kBF16, n, kept);
    } else {
      compact_rows(block, DType::kF32, n, kept);
    }
  }
  std::vector<float> out(static_cast<std::size_t>(k * d));
  attention_context(rows_in, n, heads, dh,
                    type == DType::kBF16 ? static_cast<const void*>(probs16.data()) : probs.data(),
                    k, f32_rows(out.data(), d));
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

INSTANTIATE_TEST_SUITE_P(Kernels, AttentionTypes,
                         ::testing::Combine(::testing::Values(DType::kF32, DType::kBF16),
                                            ::testing::Values(1, 2, 3, 16, 33, 130)),
                         [](const auto& param) {
                           return std::string(std::get<0>(param.param) == DType::kF32 ? "f32"
                                                                                      : "bf16") +
                                  "_n" + std::to_string(std::get<1>(param.param));
                         });

}  // namespace
}  // namespace lat::kernels

// A layer's rows go round the threads in shares (kernels::RowShare): together they cover the
// rows once, in order; all but the last hold a multiple of 16 rows; they differ by fewer than 32.
TEST(RowShares, CoverTheRowsInSixteens) {
  for (const std::int64_t threads : {1, 2, 3, 4, 7}) {
    for (const std::int64_t rows : {64, 65, 100, 255, 1000, 1023, 2048}) {
      std::int64_t next = 0, least = rows, most = 0;
      for (std::int64_t t = 0; t < threads; ++t) {
        const lat::kernels::RowShare share(rows, threads, t);
        EXPECT_EQ(share.first, next) << rows << " rows, thread " << t << " of " << threads;
        if (t + 1 < threads) {
          EXPECT_EQ(share.count % 16, 0) << rows << " rows, thread " << t;
        }
        next = share.first + share.count;
        least = std::min(least, share.count);
        most = std::max(most, share.count);
      }
      EXPECT_EQ(next, rows) << threads << " threads";
      EXPECT_LT(most - least, 32) << rows << " rows, " << threads << " threads";
    }
  }
}

// What a thread throws in its share leaves kernels::in_shares after the region, on the caller.
TEST(RowShares, AThreadsExceptionReachesTheCaller) {
  std::vector<int> seen(256, 0);
  EXPECT_THROW(lat::kernels::in_shares(256,
                                       [&](std::int64_t first, std::int64_t count) {
                                         for (std::int64_t r = first; r < first + count; ++r) {
                                           ++seen[static_cast<std::size_t>(r)];
                                         }
                                         if (first + count == 256) throw std::runtime_error("x");
                                       }),
               std::runtime_error);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), 256);  // every share ran once
}
