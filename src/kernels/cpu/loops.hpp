#pragma once

// lat's own loops over activations, compiled once per instruction set (loops.cpp, built three
// times with different flags) and chosen at run time for the CPU at hand. oneDNN dispatches its
// own kernels; these are the steps between its products.
#include <cstdint>
#include <vector>

#include "kernels/types.hpp"

namespace lat::kernels {

enum class Isa { kScalar, kAvx2, kAvx512, kAmx };

struct Loops {
  Isa isa;
  const char* name;  // "scalar", "avx2", "avx512", "amx" (avx512 with its bf16 and AMX's tiles)

  // One head h of a short sequence's attention, read in place from its packed QKV rows (row i
  // holds [q_i | k_i | v_i], each heads x dh wide, fp32 or bf16): the products of
  // kernels/attention.hpp for one head at a time, where a oneDNN call would cost more than the
  // arithmetic. scores (n x n, fp32) = Q_h K_h^T, unscaled; `scratch` holds
  // head_scores_scratch(n, dh) floats.
  void (*head_scores)(const Rows& qkv, int n, int heads, int dh, int h, float* scores,
                      float* scratch);
  // Head h's dh columns of out[t] = P[rows[t]] V_h for t < k, from P (n x n, fp32); out is fp32
  // or bf16.
  void (*head_context)(const Rows& qkv, int n, int heads, int dh, int h, const float* probs,
                       const int* rows, int k, const Rows& out);

  // Rows of one head's scores (`rows` of them, n wide, ld floats apart, unscaled) become P =
  // softmax(scores * scale) row by row, in place, and in the pass that writes each row of P the ACC
  // column sums: acc[j] += sum_i P[i, j]. With probs_bf16 set, P goes there instead (its rows n
  // apart), rounded to bf16 (ACC still sums the fp32 values), and scores is left holding scratch.
  void (*softmax_acc)(float* scores, int rows, int n, std::int64_t ld, float scale, float* acc,
                      std::uint16_t* probs_bf16);

  // Rows of one head's scores (`rows` of them, n wide, ld floats apart) become scores * scale +
  // bias[bucket of (positions[j] - row_positions[i])], MPNet's relative position bias: `bucket`
  // maps a distance plus `reach` to its bucket, `bias` holds one value per bucket (`stride` floats
  // apart).
  void (*add_relative_bias)(float* scores, int rows, int n, std::int64_t ld, float scale,
                            const int* row_positions, const int* positions,
                            const std::uint8_t* bucket, int reach, const float* bias, int stride);

  // The "amx" variant only, null in the others: head h's scores from AMX tiles, for bf16 Q and K
  // with dh a multiple of kTileDepth up to kMaxTileDh. pack_keys writes K_h (n x dh) as the
  // tiles' right operand, packed_keys_size(n, dh) values. scores_rows then writes rows first to
  // first + kTileRows - 1 of Q_h K_h^T (unscaled, fp32) to out, tile_row_floats(n) apart (whole
  // cache lines): out holds tile_scores_size(n) floats, and the rows past n hold scratch.
  // Attention's scores then never leave the cache. scores_rows and context_rows (below) run
  // between begin_tiles and end_tiles on the calling thread, which set the tiles' shapes up (a
  // costly instruction, paid once for a head's rows) and free them.
  void (*begin_tiles)();
  void (*end_tiles)();
  void (*pack_keys)(const Rows& qkv, int n, int heads, int dh, int h, std::uint16_t* packed);
  void (*scores_rows)(const Rows& qkv, int n, int heads, int dh, int h, int first,
                      const std::uint16_t* packed, float* out);
  // The same for P V: pack_values writes V_h (n x dh) as the tiles' right operand,
  // packed_values_size(n, dh) values; context_rows writes `count` (<= kTileRows) rows of P V to
  // out (fp32 or bf16, dh columns), from kTileRows rows of P (bf16, n apart) in tile_probs_size(n)
  // values. All of those must be finite: a row's last keys are read on into the next row (past
  // the last row, into the rest) and meet zero values there.
  void (*pack_values)(const Rows& qkv, int n, int heads, int dh, int h, std::uint16_t* packed);
  void (*context_rows)(const std::uint16_t* probs, int n, const std::uint16_t* packed, int dh,
                       int count, const Rows& out);

  // x[r] = LayerNorm(x[r] + residual[at[r]]) * gamma + beta for rows of width d, at[r] being r
  // where `at` is null: the residual rows of a pruned layer are read where they are, not gathered
  // first. residual may be null. Where also.data is set, each row is written there too, in its type
  // (as convert writes it): the next product's input, made while the row is in cache.
  void (*add_layer_norm)(float* x, const float* residual, const int* at, std::int64_t rows, int d,
                         const float* gamma, const float* beta, float eps, Rows also);

  // x[r] += residual[at[r]] for rows of width d, at[r] being r where `at` is null.
  void (*add_rows)(float* x, const float* residual, const int* at, std::int64_t rows, int d);

  // A gated feed-forward's inner rows: out[r][j] = act(in[r][j]) * in[r][width + j], from rows of
  // 2 width (the activated half, then the gate) into rows of width.
  void (*gated)(const float* in, std::int64_t rows, int width, Epilogue act, float* out);

  // x[r] /= ||x[r]||_2, rows of zeros stay zero.
  void (*l2_normalize)(float* x, std::int64_t rows, int d);

  // fp32 rows (ld_x apart) into out's type: a copy; bf16; or uint8 codes (RowCode).
  void (*convert)(const float* x, std::int64_t rows, int cols, std::int64_t ld_x, Rows out);

  // Weights [rows][cols] (rows = output channels) into int8 codes, symmetric per row with max
  // |w| mapped to qmax: weight = q * scales[r].
  void (*quantize_weights)(const float* w, std::int64_t rows, int cols, int qmax, std::int8_t* q,
                           float* scales);

  // The end of a product of uint8 rows `in` by int8 weights w: acc[r][c] = sum_k code[r][k]
  // q_w[c][k], so the value is epilogue(((acc - zero_r sums[c]) scale_r + sum over the row's
  // outliers of value_i q_w[c][column_i]) w.scales[c] + bias[c]), written in out's type (uint8
  // rows are quantized again). Where out is uint8, scratch holds `cols` floats for each thread
  // of the team it runs (one, when called inside a parallel region).
  void (*dequantize)(const std::int32_t* acc, std::int64_t rows, int cols, const Rows& in,
                     const Int8Weights& w, const float* bias, Epilogue epilogue, Rows out,
                     float* scratch);
};

// The floats of scratch Loops::head_scores needs: K_h transposed (n rounded up to 16 columns)
// and Q_h in fp32.
constexpr std::size_t head_scores_scratch(int n, int dh) {
  return static_cast<std::size_t>(dh) * static_cast<std::size_t>((n + 15) / 16 * 16 + n);
}

// Loops::scores_rows' blocks: 16 query rows, 16 keys, 32 bf16 values of depth (a tile's width).
constexpr int kTileRows = 16, kTileDepth = 32, kMaxTileDh = 4 * kTileDepth;
constexpr std::size_t packed_keys_size(int n, int dh) {
  return static_cast<std::size_t>((n + kTileRows - 1) / kTileRows * kTileRows) *
         static_cast<std::size_t>(dh);
}
constexpr std::size_t packed_values_size(int n, int dh) {
  return static_cast<std::size_t>((n + kTileDepth - 1) / kTileDepth * kTileDepth) *
         static_cast<std::size_t>(dh);
}
// The bf16 values Loops::context_rows reads from its kTileRows rows of P (n apart).
constexpr std::size_t tile_probs_size(int n) {
  return static_cast<std::size_t>(kTileRows * n + kTileDepth);
}
constexpr std::int64_t tile_row_floats(int n) {
  return (n + kTileRows - 1) / kTileRows * kTileRows;
}
constexpr std::size_t tile_scores_size(int n) {
  return static_cast<std::size_t>(kTileRows * tile_row_floats(n));
}

// What the CPU (and the operating system, which must save the wider registers) supports.
struct CpuFeatures {
  bool avx2 = false;         // with FMA and F16C
  bool avx512 = false;       // F, BW, VL and DQ
  bool avx512_bf16 = false;  // bf16 dot products
  bool amx = false;          // with avx512_bf16: AMX's tiles, granted to this process
};
const CpuFeatures& cpu_features();

// The loops this process runs: the widest the CPU supports, or the one LAT_ISA names
// (scalar, avx2, avx512, amx) when it is set; lat::Error if the CPU lacks what LAT_ISA asks for.
const Loops& loops();

// Every variant this CPU can run, narrowest first (the tests run each).
std::vector<const Loops*> supported_loops();

}  // namespace lat::kernels
