// Encoder::calibrate: this machine's cost model, from the dense pass, a pass at half the rows and
// the most pruned one. Encoder::calibrate_ranges: int8-static's activation ranges.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <numeric>
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

namespace {

// What calibration saw of one product's input. The first pass over the texts records each
// column's extremes, which give the smoothing and the outlier columns; the second, a histogram of
// the other columns' smoothed values over their extremes, from which the range is chosen.
struct Seen {
  static constexpr int kBins = 2048;
  std::vector<float> lo, hi;      // per column, first pass
  std::vector<float> smooth;      // per column, from the first pass
  std::vector<bool> outlier;      // per column, from the first pass
  std::vector<int> outliers;      // their columns, largest first
  double min = 0, max = 0;        // over the columns that are not outliers
  std::vector<double> histogram;  // kBins over [min, max], second pass

  void add(const float* x, std::int64_t rows, int cols) {
    const auto n = static_cast<std::size_t>(cols);
    if (histogram.empty()) {
      if (lo.empty()) {
        lo.assign(n, 0.f);
        hi.assign(n, 0.f);
      }
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < n; ++j) {
          lo[j] = std::min(lo[j], x[static_cast<std::size_t>(r) * n + j]);
          hi[j] = std::max(hi[j], x[static_cast<std::size_t>(r) * n + j]);
        }
      }
      return;
    }
    const double per_bin = kBins / (max - min);
    for (std::int64_t r = 0; r < rows; ++r) {
      for (std::size_t j = 0; j < n; ++j) {
        if (outlier[j]) continue;
        const double b = (x[static_cast<std::size_t>(r) * n + j] / smooth[j] - min) * per_bin;
        if (std::isfinite(b))
          histogram[static_cast<std::size_t>(std::clamp(b, 0.0, kBins - 1.0))] += 1;
      }
    }
  }

  // After the first pass: the smoothing, smooth[j] = sqrt(max |x_j| / max |W[:, j]|) with the
  // product's weights (`weight_max`, per column), which evens the columns' ranges between the
  // activations and the weights; the outlier columns, at most 4, largest first, whose smoothed
  // magnitude is more than kOutlierRatio times the median column's; then the histogram's bounds.
  void end_first_pass(const std::vector<float>& weight_max) {
    constexpr double kOutlierRatio = 8;
    const std::size_t cols = lo.size();
    smooth.assign(cols, 1.f);
    for (std::size_t j = 0; j < cols; ++j) {
      const double a = std::max(1e-5f, std::max(-lo[j], hi[j]));
      const double w = std::max(1e-5f, weight_max[j]);
      smooth[j] = static_cast<float>(std::clamp(std::sqrt(a / w), 1e-6, 1e6));
    }
    for (std::size_t j = 0; j < cols; ++j) {
      lo[j] /= smooth[j];
      hi[j] /= smooth[j];
    }
    std::vector<float> magnitude(cols);
    for (std::size_t j = 0; j < cols; ++j) magnitude[j] = std::max(-lo[j], hi[j]);
    std::vector<int> order(cols);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return magnitude[a] > magnitude[b]; });
    const double median = magnitude[static_cast<std::size_t>(order[cols / 2])];
    outlier.assign(cols, false);
    for (std::size_t i = 0; i < std::min<std::size_t>(4, cols); ++i) {
      if (!(magnitude[static_cast<std::size_t>(order[i])] > kOutlierRatio * median)) break;
      outliers.push_back(order[i]);
      outlier[static_cast<std::size_t>(order[i])] = true;
    }
    for (std::size_t j = 0; j < cols; ++j) {
      if (outlier[j]) continue;
      min = std::min(min, double(lo[j]));
      max = std::max(max, double(hi[j]));
    }
    if (!(max > min)) max = min + 1;
    histogram.assign(kBins, 0.0);
  }

  // After the second pass: the range [a min, a max] (a from 1 down to 0.1) whose 255 steps give
  // the least squared error over the values seen, rounding inside it and saturation outside it
  // counted (a row's values beyond the range mostly pass exactly, in its free outlier slots: the
  // count is pessimistic, which keeps the range wide).
  ActivationRange range() const {
    const double width = (max - min) / kBins;
    double best = -1, best_a = 1;
    for (int i = 0; i <= 90; ++i) {
      const double a = 1.0 - 0.01 * i;
      const double l = a * min, h = a * max, step = (h - l) / 255;
      double error = 0;
      for (int b = 0; b < kBins; ++b) {
        const double v = min + (b + 0.5) * width;
        const double out = v < l ? l - v : v > h ? v - h : 0;
        error += histogram[static_cast<std::size_t>(b)] * (out > 0 ? out * out : step * step / 12);
      }
      if (best < 0 || error < best) {
        best = error;
        best_a = a;
      }
    }
    return {best_a * min, best_a * max, outliers, smooth};
  }
};

}  // namespace

Int8Ranges Encoder::calibrate_ranges(std::span<const std::string> texts) const {
  if (impl_->info.precision != Precision::kFp32) {
    throw Error(
        ErrorCode::kUnsupported,
        std::string("int8-static ranges are calibrated on an fp32 encoder; this one runs ") +
            to_string(impl_->info.precision));
  }
  if (texts.empty()) throw Error(ErrorCode::kInput, "calibration needs at least one text");
  const int layers = impl_->info.layers;
  std::vector<std::array<Seen, 4>> seen(static_cast<std::size_t>(layers));
  const model::InputObserver observer = [&](int layer, model::Product product, const float* x,
                                            std::int64_t rows, int cols) {
    seen[static_cast<std::size_t>(layer)][static_cast<std::size_t>(product)].add(x, rows, cols);
  };
  auto pass = [&] {
    constexpr std::size_t kBatch = 16;
    for (std::size_t first = 0; first < texts.size(); first += kBatch) {
      std::vector<Encoding> batch;
      for (std::size_t i = first; i < std::min(texts.size(), first + kBatch); ++i) {
        batch.push_back(tokenize(texts[i]));
      }
      impl_->run(batch, Policy(), &observer);
    }
  };
  pass();
  for (std::size_t l = 0; l < seen.size(); ++l) {
    const auto& lw = impl_->weights.layers[l];
    const kernels::Linear* products[] = {&lw.qkv, &lw.output, &lw.ffn_in, &lw.ffn_out};
    for (std::size_t p = 0; p < 4; ++p) seen[l][p].end_first_pass(products[p]->input_weight_max());
  }
  pass();
  Int8Ranges ranges;
  ranges.texts = static_cast<int>(texts.size());
  for (const auto& layer : seen) {
    LayerRanges& r = ranges.layers.emplace_back();
    for (int p = 0; p < 4; ++p) r.at(p) = layer[static_cast<std::size_t>(p)].range();
  }
  return ranges;
}

}  // namespace lat
