// Encoder::calibrate: this machine's cost model, from the dense pass and the most pruned one.
#include <algorithm>
#include <chrono>

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

}  // namespace

CostModel Encoder::calibrate(int tokens) const {
  const EncoderInfo& info = impl_->info;
  if (tokens < 2 || tokens > info.max_positions) {
    throw Error(ErrorCode::kOption, "calibration length " + std::to_string(tokens) +
                                        " must lie in [2, max_position_embeddings]");
  }
  // Token values do not change the time; any text long enough to fill the input will do.
  std::string text;
  while (std::ssize(text) < 8 * tokens) text += "the cost of a layer on this machine ";
  const Encoding input = impl_->tokenizer.encode(text, tokens);
  const int n = static_cast<int>(input.ids.size());
  model::PackedBatch batch{input.ids, std::vector<std::int32_t>(input.ids.size(), 0), {0, n}};

  const ModelShape shape = impl_->shape();
  const Schedule dense = schedule_for_ratio(shape, n, 1.0),
                 fewest = schedule_for_ratio(shape, n, 0.0);
  const std::vector<std::vector<int>> dense_keep{dense.keep}, fewest_keep{fewest.keep};
  const CallThreads threads(info.threads);
  auto seconds = [&](const std::vector<std::vector<int>>& keep) {
    const auto start = std::chrono::steady_clock::now();
    model::forward(impl_->weights, batch, keep, false);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> dense_s, fewest_s;
  for (int round = 0; round < 110; ++round) {  // interleaved; the first rounds warm up
    const double d = seconds(dense_keep), f = seconds(fewest_keep);
    if (round >= 10) dense_s.push_back(d), fewest_s.push_back(f);
  }
  // t = (FLOPs + weight_flops * weights) / rate for both runs; two equations, two unknowns.
  const double dense_flops = pass_cost(shape, n, dense.keep);
  const double fewest_flops = pass_cost(shape, n, fewest.keep);
  const double t_dense = median(dense_s), t_fewest = median(fewest_s);
  if (!(t_dense > t_fewest)) return {};  // too noisy to tell: the FLOP model
  const double rate = (dense_flops - fewest_flops) / (t_dense - t_fewest);
  const double weights = layer_weights(shape) * info.layers;
  return {std::max(0.0, (t_fewest * rate - fewest_flops) / weights)};
}

}  // namespace lat
