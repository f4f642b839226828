#pragma once

#include <cstdint>
#include <span>

#include "kernels/types.hpp"

namespace lat::kernels {

// Attention of one sequence, read in place from its packed QKV rows: row i holds
// [q_i | k_i | v_i], each heads x dh wide (qkv.ld elements from row to row), fp32 or bf16.
// Softmax and ACC are Loops::softmax_acc, between these two products. Short sequences take
// Loops::head_scores and head_context instead, one head at a time (model/forward.cpp).

// scores[h] = Q_h K_h^T (n x n each, unscaled, fp32) for every head, as one batched product.
void attention_scores(const Rows& qkv, int n, int heads, int dh, float* scores);

// Moves the kept rows (ascending) of one head's n x n probabilities (elements of `type`) to the
// front of its block.
void compact_rows(void* probs, DType type, int n, std::span<const int> rows);

// out[t] = concat_h P_h[t] V_h for t < k, every head in one batched product: P_h is the first k
// rows of head h's n x n block of probs, of the same type as qkv.
void attention_context(const Rows& qkv, int n, int heads, int dh, const void* probs, int k,
                       const Rows& out);

}  // namespace lat::kernels
