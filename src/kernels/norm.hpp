#pragma once

#include <cstdint>

namespace lat::kernels {

// x[r] = LayerNorm(x[r] + residual[r]) * gamma + beta for each of rows rows of width d;
// residual may be null.
void add_layer_norm(float* x, const float* residual, std::int64_t rows, int d, const float* gamma,
                    const float* beta, float eps);

// x[r] /= ||x[r]||_2 (rows of zeros stay zero).
void l2_normalize(float* x, std::int64_t rows, int d);

}  // namespace lat::kernels
