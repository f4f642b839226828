#include "kernels/norm.hpp"

#include <algorithm>
#include <cmath>

namespace lat::kernels {

void add_layer_norm(float* x, const float* residual, std::int64_t rows, int d, const float* gamma,
                    const float* beta, float eps) {
#pragma omp parallel for schedule(static)
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = x + r * d;
    float sum = 0.f;
    if (residual != nullptr) {
      const float* res = residual + r * d;
#pragma omp simd reduction(+ : sum)
      for (int i = 0; i < d; ++i) {
        row[i] += res[i];
        sum += row[i];
      }
    } else {
#pragma omp simd reduction(+ : sum)
      for (int i = 0; i < d; ++i) sum += row[i];
    }
    const float mean = sum / static_cast<float>(d);
    float squares = 0.f;  // of the centred values: no cancellation
#pragma omp simd reduction(+ : squares)
    for (int i = 0; i < d; ++i) squares += (row[i] - mean) * (row[i] - mean);
    const float inv = 1.0f / std::sqrt(squares / static_cast<float>(d) + eps);
#pragma omp simd
    for (int i = 0; i < d; ++i) row[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
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
