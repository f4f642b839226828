// Encoder::calibrate: this machine's cost model, from dense, half and most pruned passes of one
// input and of a batch. Encoder::calibrate_ranges: int8-static's activation ranges.
#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <numeric>
#include <span>

#include "call_threads.hpp"
#include "cost_fit.hpp"
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
  auto input_of = [&](int length) {
    std::string text;
    while (std::ssize(text) < 8 * length) text += "the cost of a layer on this machine ";
    return impl_->tokenizer.encode(text, length);
  };
  // One input at `tokens` and at four times as many (where the model takes them), and kBatch
  // inputs at `tokens`, three passes each: dense, every layer at half the rows, and one row after
  // the first layer.
  constexpr int kBatch = 4;
  const ModelShape shape = impl_->shape();
  struct Pass {
    model::PackedBatch batch;
    std::vector<std::vector<int>> keep;  // one per input
    CostTerms terms;                     // before division by the time
    std::vector<double> seconds;
  };
  std::vector<Pass> passes;
  auto add = [&](const Encoding& input, int inputs) {
    const int n = static_cast<int>(input.ids.size());
    model::PackedBatch batch;  // offsets start at 0
    for (int i = 1; i <= inputs; ++i) {
      batch.ids.insert(batch.ids.end(), input.ids.begin(), input.ids.end());
      batch.offsets.push_back(i * n);
    }
    batch.type_ids.assign(batch.ids.size(), 0);
    for (const std::vector<int>& keep :
         {std::vector<int>(static_cast<std::size_t>(shape.layers), n),
          std::vector<int>(static_cast<std::size_t>(shape.layers), (n + 1) / 2),
          schedule_for_ratio(shape, n, 0.0).keep}) {
      double scores = 0;
      for (int l = 0, m = n; l < shape.layers; m = keep[static_cast<std::size_t>(l)], ++l)
        scores += double(m) * m;
      passes.push_back({batch,
                        std::vector<std::vector<int>>(static_cast<std::size_t>(inputs), keep),
                        {inputs * pass_cost(shape, n, keep), inputs * scores, 1.0, double(inputs)},
                        {}});
    }
  };
  const Encoding short_input = input_of(tokens);
  add(short_input, 1);
  if (const Encoding long_input = input_of(std::min(4 * tokens, info.max_length));
      long_input.ids.size() > short_input.ids.size()) {
    add(long_input, 1);
  }
  add(short_input, kBatch);
  const CallThreads threads(info.threads);
  for (int round = 0; round < 90; ++round) {  // interleaved; the first rounds warm up
    for (Pass& p : passes) {
      const auto start = std::chrono::steady_clock::now();
      model::forward(impl_->weights, p.batch, p.keep, false);
      const std::chrono::duration<double> t = std::chrono::steady_clock::now() - start;
      if (round >= 10) p.seconds.push_back(t.count());
    }
  }
  // t = (FLOPs + attention_flops * scores + weight_flops * weights + input_flops * layers *
  // inputs) / rate for each pass, linear in 1 / rate and each term's constant / rate. Each term
  // is scaled by its largest value first.
  CostTerms scale{};
  for (const Pass& p : passes) {
    for (int i = 0; i < kCostTerms; ++i) scale[i] = std::max(scale[i], p.terms[i]);
  }
  std::vector<CostTerms> rows;
  for (const Pass& p : passes) {
    const double t = median(p.seconds);
    CostTerms& row = rows.emplace_back();
    for (int i = 0; i < kCostTerms; ++i) row[i] = p.terms[i] / scale[i] / t;
  }
  const auto x = fit_non_negative(rows);
  if (!x) return {};       // too noisy to tell: the FLOP model
  double per[kCostTerms];  // each term's cost in FLOPs
  for (int i = 0; i < kCostTerms; ++i) per[i] = (*x)[i] / scale[i] / ((*x)[0] / scale[0]);
  return {.weight_flops = per[2] / (layer_weights(shape) * info.layers),
          .batch = 1,
          .attention_flops = per[1],
          .input_flops = per[3] / info.layers};
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
