// Encoder::calibrate: this machine's cost model, from the dense pass, a pass at half the rows and
// the most pruned one.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <optional>

#include "call_threads.hpp"
#include "encoder_impl.hpp"
#include "lat/error.hpp"
#include "model/forward.hpp"

namespace lat {

namespace {

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// x with a x = b for the 3 x 3 system [a | b] (Gaussian elimination, partial pivoting); nothing
// where it is singular.
std::optional<std::array<double, 3>> solve3(double (&m)[3][4]) {
  double a[3][4];
  std::copy(&m[0][0], &m[0][0] + 12, &a[0][0]);
  for (int c = 0; c < 3; ++c) {
    int pivot = c;
    for (int r = c + 1; r < 3; ++r) {
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    }
    if (std::abs(a[pivot][c]) < 1e-300) return std::nullopt;
    std::swap(a[c], a[pivot]);
    for (int r = 0; r < 3; ++r) {
      if (r == c) continue;
      const double f = a[r][c] / a[c][c];
      for (int k = c; k < 4; ++k) a[r][k] -= f * a[c][k];
    }
  }
  return std::array<double, 3>{a[0][3] / a[0][0], a[1][3] / a[1][1], a[2][3] / a[2][2]};
}

}  // namespace

CostModel Encoder::calibrate(int tokens) const {
  const EncoderInfo& info = impl_->info;
  if (tokens < 2 || tokens > info.max_positions) {
    throw Error(ErrorCode::kOption, "calibration length " + std::to_string(tokens) +
                                        " must lie in [2, max_position_embeddings]");
  }
  // Token values do not change the time; any text long enough to fill the input will do.
  auto input_of = [&](int length) {
    std::string text;
    while (std::ssize(text) < 8 * length) text += "the cost of a layer on this machine ";
    return impl_->tokenizer.encode(text, length);
  };
  // At `tokens` and at four times as many (where the model takes them), three passes each:
  // dense, every layer at half the rows, and one row after the first layer.
  const ModelShape shape = impl_->shape();
  struct Pass {
    model::PackedBatch batch;
    std::vector<std::vector<int>> keep;
    double flops = 0, scores = 0;  // FLOPs and sum of m^2 over the layers
    std::vector<double> seconds;
  };
  std::vector<Pass> passes;
  for (const int length : {tokens, std::min(4 * tokens, info.max_length)}) {
    const Encoding input = input_of(length);
    const int n = static_cast<int>(input.ids.size());
    if (!passes.empty() && passes.front().batch.offsets.back() == n) break;
    const model::PackedBatch batch{
        input.ids, std::vector<std::int32_t>(input.ids.size(), 0), {0, n}};
    for (const std::vector<int>& keep :
         {std::vector<int>(static_cast<std::size_t>(shape.layers), n),
          std::vector<int>(static_cast<std::size_t>(shape.layers), (n + 1) / 2),
          schedule_for_ratio(shape, n, 0.0).keep}) {
      Pass p{batch, {keep}, pass_cost(shape, n, keep), 0, {}};
      for (int l = 0, m = n; l < shape.layers; m = keep[static_cast<std::size_t>(l)], ++l)
        p.scores += double(m) * m;
      passes.push_back(std::move(p));
    }
  }
  const CallThreads threads(info.threads);
  for (int round = 0; round < 90; ++round) {  // interleaved; the first rounds warm up
    for (Pass& p : passes) {
      const auto start = std::chrono::steady_clock::now();
      model::forward(impl_->weights, p.batch, p.keep, false);
      const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start;
      if (round >= 10) p.seconds.push_back(t.count());
    }
  }
  // t = (FLOPs + attention_flops * sum m^2 + weight_flops * weights) / rate for each pass,
  // linear in 1 / rate, attention_flops / rate and weight_flops / rate: least squares of the
  // relative error (each pass's row divided by its time), FLOPs and sum m^2 first scaled by their
  // largest value.
  double scale[3] = {0, 0, 1};
  for (const Pass& p : passes) {
    scale[0] = std::max(scale[0], p.flops);
    scale[1] = std::max(scale[1], p.scores);
  }
  double normal[3][4] = {};
  for (const Pass& p : passes) {
    const double t = median(p.seconds);
    const double row[3] = {p.flops / scale[0] / t, p.scores / scale[1] / t, 1.0 / t};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) normal[i][j] += row[i] * row[j];
      normal[i][3] += row[i];  // the target, t / t
    }
  }
  const double weights = layer_weights(shape) * info.layers;
  if (const auto x = solve3(normal); x && (*x)[0] > 0 && (*x)[1] >= 0 && (*x)[2] >= 0) {
    const double per_flop = (*x)[0] / scale[0], per_score = (*x)[1] / scale[1];
    return {(*x)[2] / per_flop / weights, 1, per_score / per_flop};
  }
  // Too noisy for the attention term: the dense and the most pruned pass at `tokens`, two
  // equations in 1 / rate and weight_flops / rate.
  const double t_dense = median(passes[0].seconds), t_fewest = median(passes[2].seconds);
  if (!(t_dense > t_fewest)) return {};  // too noisy to tell: the FLOP model
  const double rate = (passes[0].flops - passes[2].flops) / (t_dense - t_fewest);
  return {std::max(0.0, (t_fewest * rate - passes[2].flops) / weights)};
}

}  // namespace lat
