#pragma once

#include <cstdint>
#include <span>

namespace lat::kernels {

// Attention of one sequence, read in place from its packed QKV rows: row i holds
// [q_i | k_i | v_i], each heads x dh wide, and rows are ld floats apart.

// scores[h] = Q_h K_h^T (n x n each, unscaled) for every head, as one batched product.
void attention_scores(const float* qkv, std::int64_t ld, int n, int heads, int dh, float* scores);

// One head's scores become P = softmax(scores * scale) row by row, in place, and in the same pass
// over each row the ACC column sums: acc[j] += sum_i P[i, j].
void softmax_acc(float* probs, int n, float scale, float* acc);

// Moves the kept rows (ascending) of one head's n x n probabilities to the front of its block.
void compact_rows(float* probs, int n, std::span<const int> rows);

// out[t] = concat_h P_h[t] V_h for t < k, every head in one batched product: P_h is the first k
// rows of head h's n x n block of probs. out has row stride ld_out.
void attention_context(const float* qkv, std::int64_t ld, int n, int heads, int dh,
                       const float* probs, int k, float* out, std::int64_t ld_out);

}  // namespace lat::kernels
