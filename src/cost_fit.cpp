#include "cost_fit.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace lat {
namespace {

// Least squares of row . x = 1 over the rows (the relative error of each pass's time), on the
// terms in the bit mask `use` (the others 0); nothing where the system is singular.
std::optional<CostTerms> fit(std::span<const CostTerms> rows, unsigned use) {
  int index[kCostTerms];
  int n = 0;
  for (int i = 0; i < kCostTerms; ++i) {
    if ((use >> i) & 1U) index[n++] = i;
  }
  double a[kCostTerms][kCostTerms + 1] = {};  // the normal equations
  for (const CostTerms& row : rows) {
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) a[i][j] += row[index[i]] * row[index[j]];
      a[i][n] += row[index[i]];
    }
  }
  for (int c = 0; c < n; ++c) {  // Gauss-Jordan, partial pivoting
    int pivot = c;
    for (int r = c + 1; r < n; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    }
    if (std::abs(a[pivot][c]) < 1e-300) return std::nullopt;
    std::swap(a[c], a[pivot]);
    for (int r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k <= n; ++k) a[r][k] -= f * a[c][k];
    }
  }
  CostTerms x{};
  for (int i = 0; i < n; ++i) x[index[i]] = a[i][n] / a[i][i];
  return x;
}

}  // namespace

// Among the fits on each set of terms that includes the FLOPs, the best whose coefficients are all
// in range: the constrained optimum lies on one of them.
std::optional<CostTerms> fit_non_negative(std::span<const CostTerms> rows) {
  auto in_range = [](const CostTerms& x) {
    return x[0] > 0 && std::all_of(x.begin() + 1, x.end(), [](double v) { return v >= 0; });
  };
  std::optional<CostTerms> best;
  double best_error = 0;
  for (unsigned use = 1; use < (1U << kCostTerms); use += 2) {
    const auto x = fit(rows, use);
    if (!x || !in_range(*x)) continue;
    double error = 0;
    for (const CostTerms& row : rows) {
      const double e = std::inner_product(row.begin(), row.end(), x->begin(), 0.0) - 1;
      error += e * e;
    }
    if (!best || error < best_error) {
      best = x;
      best_error = error;
    }
  }
  return best;
}

}  // namespace lat
