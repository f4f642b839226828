#include "kernels/norm.hpp"

#include <algorithm>
#include <cmath>

namespace lat::kernels {

void add_layer_norm(float* x, const float* residual, std::int64_t rows, int d, const float* gamma,
                    const float* beta, float eps) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    if (residual != nullptr) {
      const float* res = residual + r * d;
      for (int i = 0; i < d; ++i) row[i] += res[i];
    }
    double mean = 0;
    for (int i = 0; i < d; ++i) mean += row[i];
    mean /= d;
    double var = 0;
    for (int i = 0; i < d; ++i) {
      const double c = row[i] - mean;
      var += c * c;
    }
    var /= d;
    const auto m = static_cast<float>(mean);
    const auto inv = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
    for (int i = 0; i < d; ++i) row[i] = (row[i] - m) * inv * gamma[i] + beta[i];
  }
}

void l2_normalize(float* x, std::int64_t rows, int d) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    double ss = 0;
    for (int i = 0; i < d; ++i) ss += static_cast<double>(row[i]) * row[i];
    // sentence-transformers divides by max(norm, 1e-12)
    const double norm = std::max(std::sqrt(ss), 1e-12);
    for (int i = 0; i < d; ++i) row[i] = static_cast<float>(row[i] / norm);
  }
}

}  // namespace lat::kernels
