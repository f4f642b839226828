// bench_latency: latency of a lat encoder per sequence length, batch size and speedup, with the
// measured speedup against speedup 1 of the same run beside the predicted one.
//
//   bench_latency --model DIR [--seq 32,128,512] [--batch 1,8] [--speedup 1,1.5,2,3,4]
//                 [--threads N] [--precision fp32|bf16|int8] [--text TSV]
//                 [--cost flops|calibrated|W[,A[,I]]] [--help]
//                 [Google Benchmark flags, e.g. --benchmark_format=json]
// --cost picks the schedule's cost model: FLOPs (the default), one calibrated on this machine
// (at the precision asked) before the runs (Encoder::calibrate), or given weight_flops and
// optionally attention_flops and input_flops.
//
// Inputs are cut from real text (IMDB test reviews by default) to exactly the stated length.
// Each case repeats 9 times (--benchmark_repetitions), the repetitions of all cases interleaved at
// random so that a slow spell of a noisy machine does not fall on one case, and reports the median.
#include <benchmark/benchmark.h>

#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "cost_flag.hpp"
#include "flags.hpp"
#include "precision_flag.hpp"
#include "real_inputs.hpp"

namespace {

struct Case {
  int seq, batch;
  double speedup, predicted;
  double median_ms = 0, measured = 0;
};

std::vector<Case> g_cases;

// Adds the measured speedup to each median, against the speedup-1 median of the same shape, and
// prints a summary table at the end (to stderr when the main output is JSON).
class SpeedupReporter : public benchmark::BenchmarkReporter {
 public:
  SpeedupReporter(std::unique_ptr<benchmark::BenchmarkReporter> inner, bool json)
      : inner_(std::move(inner)), json_(json) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }

  // Runs are held back until all are in: with interleaved repetitions a pruned case may finish
  // before the dense case it is measured against.
  void ReportRuns(const std::vector<Run>& runs) override {
    held_.insert(held_.end(), runs.begin(), runs.end());
  }

  void Finalize() override {
    for (const Run& run : held_) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
        g_cases[static_cast<std::size_t>(run.family_index)].median_ms = run.GetAdjustedRealTime();
      }
    }
    for (Case& c : g_cases) {
      for (const Case& dense : g_cases) {
        if (dense.seq == c.seq && dense.batch == c.batch && dense.speedup == 1.0) {
          c.measured = dense.median_ms / c.median_ms;
        }
      }
    }
    for (Run& run : held_) {
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name == "median") {
        run.counters["measured_speedup"] =
            g_cases[static_cast<std::size_t>(run.family_index)].measured;
      }
    }
    inner_->ReportRuns(held_);
    inner_->Finalize();
    std::ostream& out = json_ ? std::cerr : std::cout;
    out << "\n  seq  batch  speedup  median ms   tokens/s  predicted  measured  "
           "measured/predicted\n";
    for (const Case& c : g_cases) {
      out << std::setw(5) << c.seq << std::setw(7) << c.batch << std::setw(9) << c.speedup
          << std::fixed << std::setprecision(2) << std::setw(11) << c.median_ms << std::setw(11)
          << std::setprecision(0) << c.seq * c.batch / (c.median_ms / 1000.0)
          << std::setprecision(2) << std::setw(11) << c.predicted << std::setw(10) << c.measured
          << std::setw(20) << (c.measured / c.predicted) << "\n";
      out.unsetf(std::ios::fixed);
    }
  }

 private:
  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  bool json_;
  std::vector<Run> held_;
};

const lat::cli::Flags& flags() {
  using lat::cli::Flag;
  static const lat::cli::Flags table = [] {
    lat::cli::Flags t(
        "bench_latency",
        "latency of a lat encoder per sequence length, batch size and speedup; Google Benchmark's "
        "flags (--benchmark_...) pass through",
        {Flag::text("--model", "DIR", "the model folder").required(),
         Flag::integers("--seq", "32,128,512", "sequence lengths, in tokens", "32,128,512")
             .at_least(1),
         Flag::integers("--batch", "1,8", "batch sizes", "1,8").at_least(1),
         Flag::numbers("--speedup", "1,1.5,2,3,4", "speedups (1 is put first when missing)",
                       "1,1.5,2,3,4")
             .at_least(1),
         Flag::integer("--threads", "N", "threads per call").at_least(1).shows("every core"),
         lat::cli::precision_flag("fp32"),
         Flag::text("--text", "TSV", "the real texts the inputs are cut from",
                    "data/imdb/test.tsv"),
         lat::cli::cost_flag()});
    t.pass_through("--benchmark_");
    return t;
  }();
  return table;
}

}  // namespace

int main(int argc, char** argv) {
  const lat::cli::Args flag = flags().parse(argc, argv);
  bool json = false;
  std::vector<std::string> passed = flag.passed();
  std::vector<char*> args{argv[0]};
  bool repetitions_given = false;
  for (std::string& arg : passed) {
    if (arg == "--benchmark_format=json") json = true;
    if (arg.starts_with("--benchmark_repetitions")) repetitions_given = true;
    args.push_back(arg.data());
  }
  static char repetitions[] = "--benchmark_repetitions=9";
  static char aggregates[] = "--benchmark_report_aggregates_only=true";
  static char interleave[] = "--benchmark_enable_random_interleaving=true";
  args.insert(args.begin() + 1, {aggregates, interleave});
  if (!repetitions_given) args.insert(args.begin() + 1, repetitions);
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (count > 1) flags().fail("unknown flag " + std::string(args[1]));

  const std::string model = flag.text("--model"), text = flag.text("--text");
  const std::string cost = flag.text("--cost"), precision = flag.text("--precision");
  std::optional<int> threads;
  if (flag.has("--threads")) threads = flag.integer("--threads");

  try {
    const auto texts = lat::bench::read_texts(text);
    auto speedup_list = flag.numbers("--speedup");
    if (speedup_list.front() != 1.0) speedup_list.insert(speedup_list.begin(), 1.0);
    const lat::Precision p = lat::cli::precision_from_flag(precision);
    lat::EncoderOptions options{.threads = threads,
                                .speedup = 1.0,
                                .precision = p,
                                .cost = lat::cli::cost_model_from_flag(cost, model, threads, p)};
    std::cerr << "precision " << precision << ", cost model: " << lat::to_string(*options.cost)
              << "\n";
    benchmark::AddCustomContext("precision", precision);
    benchmark::AddCustomContext("weight_flops", std::to_string(options.cost->weight_flops));
    benchmark::AddCustomContext("attention_flops", std::to_string(options.cost->attention_flops));
    benchmark::AddCustomContext("input_flops", std::to_string(options.cost->input_flops));
    // One encoder, its weights prepared once; each speedup is a policy passed with the call.
    const auto encoder = std::make_shared<const lat::Encoder>(model, options);
    const lat::ModelShape shape = encoder->shape();
    for (const int seq : flag.integers("--seq")) {
      for (const int batch : flag.integers("--batch")) {
        auto inputs = std::make_shared<std::vector<lat::Encoding>>(
            lat::bench::real_inputs(*encoder, texts, seq, batch));
        for (double s : speedup_list) {
          const lat::Policy policy = encoder->policy(s);
          const double predicted = policy.schedule(shape, seq, batch).predicted;
          g_cases.push_back({seq, batch, s, predicted});
          std::ostringstream name;
          name << "latency/seq:" << seq << "/batch:" << batch << "/speedup:" << s;
          benchmark::RegisterBenchmark(name.str().c_str(),
                                       [=](benchmark::State& state) {
                                         for (auto _ : state)
                                           benchmark::DoNotOptimize(encoder->run(*inputs, policy));
                                         state.counters["tokens_per_s"] = benchmark::Counter(
                                             static_cast<double>(seq) * batch,
                                             benchmark::Counter::kIsIterationInvariantRate);
                                         state.counters["predicted_speedup"] = predicted;
                                         state.counters["threads"] = encoder->info().threads;
                                       })
              ->UseRealTime()
              ->Unit(benchmark::kMillisecond);
        }
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_latency: " << e.what() << "\n";
    return 1;
  }
  std::unique_ptr<benchmark::BenchmarkReporter> inner;
  if (json) {
    inner = std::make_unique<benchmark::JSONReporter>();
  } else {
    inner = std::make_unique<benchmark::ConsoleReporter>();
  }
  SpeedupReporter reporter(std::move(inner), json);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
