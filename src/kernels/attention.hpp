#pragma once

#include <cstdint>
#include <span>

namespace lat::kernels {

// One head of one sequence, read in place from the packed QKV matrix (row stride ld).
struct HeadInput {
  const float* q;
  const float* k;
  const float* v;
  std::int64_t ld;
  int n;   // rows of the sequence
  int dh;  // head width
};

// P = softmax(Q K^T / sqrt(dh)) into probs (n x n, row-major), and in the same pass over each
// row the ACC column sums: acc[j] += sum_i P[i, j].
void attention_probs_acc(const HeadInput& h, float* probs, float* acc);

// out[t] = P[rows[t]] V for the kept rows (ascending). Compacts the kept rows of probs to its
// front first, so probs is clobbered. out has row stride ld_out.
void attention_context(const HeadInput& h, float* probs, std::span<const int> rows, float* out,
                       std::int64_t ld_out);

}  // namespace lat::kernels
