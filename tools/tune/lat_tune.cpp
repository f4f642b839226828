// lat_tune: offline tuning of the speedup knob and of the schedule. Runs a set at a grid of
// speedups, prints the quality, predicted and measured speedup for each and how many inputs
// reached it, picks the largest speedup whose quality drop against speedup 1 stays within the
// budget, writes it with the whole tuned curve to lat.json beside the model (lat/settings.hpp:
// where classify and every Encoder read the knob, and where a call at a tuned speedup finds its
// exponents), and draws quality against measured speedup as an SVG picture. One encoder serves
// every schedule: each is a policy passed with the call (lat/policy.hpp).
//
// The quality of a classifier is its accuracy on the labelled set; that of an embedding model is
// the agreement of its embeddings with the dense ones on the set's texts: mean and 5th-percentile
// cosine, and the recall@10 of a nearest-neighbour search among the texts, which the budget (in
// points) bounds.
//
// The schedule is the geometric one unless --search is given (classifiers only): then, for every
// speedup, a seeded coordinate search over the keep exponents (lat/schedule.hpp) maximizes
// accuracy on the set within a time budget (and at most --evaluations schedules), every candidate
// at the same predicted speedup under the cost model, and the exponents of each speedup go to
// lat.json's curve. With --significance Z a move counts only where it is more than chance on the
// inputs whose label it changed (a sign test at Z standard deviations). --schedules FILE evaluates
// the exponents an earlier search wrote to FILE (so a search on hold-out rows is reported once on
// the evaluation split). Everything runs at --precision, under --cost (--cost calibrated first
// measures this machine's cost model) and with --floor (the fewest rows a layer keeps, as a
// fraction of the input, at least 2), all written to lat.json. Measured speedups are medians of
// --rounds timed passes over the set (3 unless given), against the dense one's; each batch of a
// pass runs under every schedule in turn. At int8-static, the activation ranges are calibrated
// first (at fp32, on --calibration's texts, else the set's) and kept in lat.json.
//
//   lat_tune --model DIR --data TSV [--budget POINTS] [--speedups 1,1.5,2,...] [--threads N]
//            [--precision fp32|bf16|int8|int8-static] [--max-length N] [--batch N]
//            [--cost flops|calibrated|W[,A[,I]]] [--floor F] [--search SECONDS]
//            [--evaluations N] [--significance Z] [--seed N] [--schedules FILE] [--rounds N]
//            [--out FILE] [--plot FILE] [--calibration FILE] [--calibration-texts N]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <lat/encoder.hpp>
#include <lat/error.hpp>
#include <lat/schedule.hpp>
#include <lat/settings.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cost_flag.hpp"
#include "flags.hpp"
#include "labelled_text.hpp"
#include "precision_flag.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, data, out, plot, cost = "flops", schedules, calibration;
  int calibration_texts = 512;
  double budget = 1.0;  // accuracy points
  std::vector<double> speedups{1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6};
  std::optional<int> threads;
  lat::Precision precision = lat::Precision::kFp32;
  int max_length = 0, batch = 32;
  double floor = 0.05;
  double search_seconds = 0;   // per speedup; 0: no search
  int search_evaluations = 0;  // per speedup; 0: as many as the time allows
  double significance = 0;     // standard deviations a kept move must beat chance by
  unsigned seed = 0;
  int rounds = 3;  // timed passes over the set per schedule, after the accuracy pass
};

// One schedule at one speedup, run over the whole set.
struct Point {
  // accuracy: a classifier's, in %; an embedding model's recall@10 against dense, in %.
  double speedup = 1, accuracy = 0, predicted = 1, measured = 1, seconds = 0;
  int correct = 0, reached = 0, layers = 0;
  std::vector<double> exponents;  // empty: the geometric schedule
  std::vector<bool> right;        // per input: labelled correctly (classifiers)
  std::optional<double> mean_cosine, p5_cosine, recall_at_10;  // embedding models
};

// The geometric schedule and, when searched or read from --schedules, the other one.
struct Row {
  Point geometric;
  std::optional<Point> other;
  const Point& best() const {
    return other && other->correct > geometric.correct ? *other : geometric;
  }
};

const lat::cli::Flags& flags() {
  using lat::cli::Flag;
  static const lat::cli::Flags table(
      "lat_tune", "tune the speedup knob (and the schedule) of a model on a labelled set",
      {Flag::text("--model", "DIR", "the model folder").required(),
       Flag::text("--data", "TSV", "the labelled set: text<TAB>gold label lines").required(),
       Flag::number("--budget", "POINTS", "the accuracy drop allowed against speedup 1", "1")
           .at_least(0),
       Flag::numbers("--speedups", "LIST", "the speedups to run (1 is put first when missing)",
                     "1,1.5,2,2.5,3,3.5,4,5,6"),
       Flag::integer("--threads", "N", "threads per call").at_least(1).shows("every core"),
       lat::cli::precision_flag("fp32"),
       Flag::integer("--max-length", "N", "tokens per input, specials included", "0")
           .at_least(0)
           .shows("the model folder's"),
       Flag::integer("--batch", "N", "texts per call", "32").at_least(1),
       lat::cli::cost_flag(),
       Flag::number("--floor", "F", "the fewest rows a layer keeps, a fraction of the input",
                    "0.05"),
       Flag::number("--search", "SECONDS", "search the schedule this long per speedup; 0: no", "0")
           .at_least(0),
       Flag::integer("--evaluations", "N", "schedules a search tries at most; 0: no cap", "0")
           .at_least(0),
       Flag::number("--significance", "Z", "standard deviations a kept move beats chance by", "0")
           .at_least(0),
       Flag::integer("--seed", "N", "the search's seed", "0").at_least(0).at_most(4294967295.0),
       Flag::text("--schedules", "FILE", "evaluate the exponents an earlier run wrote to FILE"),
       Flag::integer("--rounds", "N", "timed passes over the set per schedule", "3").at_least(0),
       Flag::text("--calibration", "FILE",
                  "int8-static: the texts (or text<TAB>label lines) its ranges are calibrated on")
           .shows("the --data set"),
       Flag::integer("--calibration-texts", "N", "int8-static: how many of them, from the first",
                     "512")
           .at_least(1),
       Flag::text("--out", "FILE", "where the tuning goes").shows("DIR/lat.json"),
       Flag::text("--plot", "FILE", "where the picture goes").shows("DIR/lat_curve.svg")});
  return table;
}

Args parse(int argc, char** argv) {
  const lat::cli::Args flag = flags().parse(argc, argv);
  Args a;
  a.model = flag.text("--model");
  a.data = flag.text("--data");
  a.budget = flag.number("--budget");
  a.speedups = flag.numbers("--speedups");
  if (flag.has("--threads")) a.threads = flag.integer("--threads");
  a.precision = lat::cli::precision_from_flag(flag.text("--precision"));
  a.max_length = flag.integer("--max-length");
  a.batch = flag.integer("--batch");
  a.cost = flag.text("--cost");
  a.floor = flag.number("--floor");
  a.search_seconds = flag.number("--search");
  a.search_evaluations = flag.integer("--evaluations");
  a.significance = flag.number("--significance");
  a.seed = flag.integer<unsigned>("--seed");
  a.rounds = flag.integer("--rounds");
  if (flag.has("--schedules")) a.schedules = flag.text("--schedules");
  a.calibration = flag.has("--calibration") ? flag.text("--calibration") : a.data;
  a.calibration_texts = flag.integer("--calibration-texts");
  if (flag.has("--out")) a.out = flag.text("--out");
  if (flag.has("--plot")) a.plot = flag.text("--plot");
  if (a.search_seconds > 0 && !a.schedules.empty())
    flags().fail("--search and --schedules exclude each other");
  if (a.speedups.empty() || a.speedups.front() != 1.0) a.speedups.insert(a.speedups.begin(), 1.0);
  if (a.out.empty()) a.out = a.model + "/lat.json";
  if (a.plot.empty()) a.plot = a.model + "/lat_curve.svg";
  return a;
}

// The one encoder of a run (weights prepared once; each schedule is a policy passed per call),
// the set, and for an embedding model the dense embeddings its quality is measured against.
struct Tuning {
  const Args& a;
  const lat::Encoder& encoder;
  const std::vector<lat::cli::LabelledText>& lines;
  std::vector<std::vector<float>> dense;  // embedding models: per input, at speedup 1

  bool classifier() const { return encoder.info().classifier; }
  // The policy of one schedule: an error where it cannot reach the speedup at the maximum length.
  lat::Policy policy(double speedup, const std::vector<double>& exponents) const {
    return encoder.policy(speedup, exponents, a.floor);
  }
};

// Calls `call(start, texts)` for each batch of --batch texts of the set, in order.
template <typename Call>
void for_each_batch(const Args& a, const std::vector<lat::cli::LabelledText>& lines, Call call) {
  for (std::size_t start = 0; start < lines.size(); start += static_cast<std::size_t>(a.batch)) {
    const std::size_t end = std::min(lines.size(), start + static_cast<std::size_t>(a.batch));
    std::vector<std::string> texts;
    for (std::size_t i = start; i < end; ++i) texts.push_back(lines[i].text);
    call(start, texts);
  }
}

// What one call gives back per input: its run, and its label or its embedding.
struct Answer {
  lat::RunInfo run;
  int label = 0;
  std::vector<float> embedding;
};

// The wall time of one call on a batch: classify for a classifier, embed for any other model.
double timed_call(const Tuning& t, const std::vector<std::string>& texts, const lat::Policy& policy,
                  std::vector<Answer>* answers = nullptr) {
  const auto t0 = Clock::now();
  std::vector<Answer> out(texts.size());
  if (t.classifier()) {
    auto r = t.encoder.classify(texts, policy);
    for (std::size_t i = 0; i < r.size(); ++i) out[i] = {std::move(r[i].run), r[i].label, {}};
  } else {
    auto r = t.encoder.embed(texts, policy);
    for (std::size_t i = 0; i < r.size(); ++i) out[i] = {std::move(r[i].run), 0, r[i].values};
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (answers) *answers = std::move(out);
  return seconds;
}

double cosine(const std::vector<float>& x, const std::vector<float>& y) {
  double xy = 0, xx = 0, yy = 0;
  for (std::size_t j = 0; j < x.size(); ++j) {
    xy += double{x[j]} * y[j];
    xx += double{x[j]} * x[j];
    yy += double{y[j]} * y[j];
  }
  return xy / std::max(std::sqrt(xx * yy), 1e-12);
}

// For each input, the indices of its `k` nearest other inputs by cosine, nearest first.
std::vector<std::vector<std::size_t>> neighbours(const std::vector<std::vector<float>>& e,
                                                 std::size_t k) {
  std::vector<std::vector<std::size_t>> out(e.size());
  std::vector<std::pair<double, std::size_t>> by_similarity;
  for (std::size_t i = 0; i < e.size(); ++i) {
    by_similarity.clear();
    for (std::size_t j = 0; j < e.size(); ++j)
      if (j != i) by_similarity.emplace_back(-cosine(e[i], e[j]), j);
    const std::size_t n = std::min(k, by_similarity.size());
    std::partial_sort(by_similarity.begin(), by_similarity.begin() + static_cast<std::ptrdiff_t>(n),
                      by_similarity.end());
    for (std::size_t m = 0; m < n; ++m) out[i].push_back(by_similarity[m].second);
  }
  return out;
}

// An embedding model's quality at one schedule: agreement with the dense embeddings.
void embedding_quality(Point& p, const std::vector<std::vector<float>>& dense,
                       const std::vector<std::vector<float>>& pruned) {
  std::vector<double> cosines;
  for (std::size_t i = 0; i < dense.size(); ++i) cosines.push_back(cosine(pruned[i], dense[i]));
  double sum = 0;
  for (double c : cosines) sum += c;
  p.mean_cosine = sum / static_cast<double>(cosines.size());
  std::sort(cosines.begin(), cosines.end());
  p.p5_cosine = cosines[static_cast<std::size_t>(0.05 * static_cast<double>(cosines.size() - 1))];
  constexpr std::size_t kNeighbours = 10;
  const auto want = neighbours(dense, kNeighbours), got = neighbours(pruned, kNeighbours);
  double found = 0, asked = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    for (std::size_t j : got[i])
      found += static_cast<double>(std::count(want[i].begin(), want[i].end(), j));
    asked += static_cast<double>(want[i].size());
  }
  p.recall_at_10 = asked > 0 ? found / asked : 1.0;
  p.accuracy = 100.0 * *p.recall_at_10;
}

// Quality, cost-weighted predicted speedup, inputs that reached the speedup and wall time of one
// schedule over the whole set. Throws lat::Error where the schedule cannot reach `speedup`.
// With `embeddings`, an embedding model's embeddings go there.
Point evaluate(const Tuning& t, double speedup, const std::vector<double>& exponents,
               std::vector<std::vector<float>>* embeddings = nullptr) {
  const lat::Policy policy = t.policy(speedup, exponents);
  const auto& info = t.encoder.info();
  const lat::ModelShape shape = t.encoder.shape();
  Point p{.speedup = speedup,
          .layers = info.layers,
          .exponents = exponents,
          .right = std::vector<bool>(t.lines.size())};
  std::vector<std::vector<float>> pruned(t.lines.size());
  double dense_cost = 0, pruned_cost = 0;
  for_each_batch(t.a, t.lines, [&](std::size_t start, const std::vector<std::string>& texts) {
    std::vector<Answer> answers;
    p.seconds += timed_call(t, texts, policy, &answers);
    const int inputs = static_cast<int>(answers.size());
    const lat::CostModel call_cost = policy.cost().in_batch(inputs);
    for (std::size_t i = 0; i < answers.size(); ++i) {
      const lat::RunInfo& run = answers[i].run;
      if (t.classifier()) {
        p.right[start + i] =
            lat::cli::gold_index(*t.lines[start + i].gold, info.labels) == answers[i].label;
      } else {
        pruned[start + i] = std::move(answers[i].embedding);
      }
      p.reached += policy.schedule(shape, run.tokens, inputs).reached ? 1 : 0;
      dense_cost += lat::pass_cost(shape, run.tokens, std::vector<int>(run.kept.size(), run.tokens),
                                   call_cost);
      pruned_cost += lat::pass_cost(shape, run.tokens, run.kept, call_cost);
    }
  });
  if (t.classifier()) {
    p.correct = static_cast<int>(std::count(p.right.begin(), p.right.end(), true));
    p.accuracy = 100.0 * p.correct / static_cast<double>(t.lines.size());
  } else if (!t.dense.empty()) {
    embedding_quality(p, t.dense, pruned);
  }
  if (embeddings) *embeddings = std::move(pruned);
  p.predicted = dense_cost / pruned_cost;
  return p;
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// Measured speedups that do not rest on one pass: every schedule of the table and the dense one
// timed again over the set, `rounds` times, medians against the dense median. Within a round
// each batch runs under every schedule in turn (the first one rotating), so that the machine's
// drift over a pass, which is larger than the differences measured, falls on all of them alike.
void time_again(const Tuning& t, std::vector<Point*> points) {
  std::vector<lat::Policy> policies;
  for (const Point* p : points) policies.push_back(t.policy(p->speedup, p->exponents));
  std::vector<std::vector<double>> seconds(points.size());
  for (int round = 0; round < t.a.rounds; ++round) {
    std::vector<double> pass(points.size(), 0.0);
    std::size_t first = 0;
    for_each_batch(t.a, t.lines, [&](std::size_t, const std::vector<std::string>& texts) {
      for (std::size_t j = 0; j < policies.size(); ++j) {
        const std::size_t i = (first + j) % policies.size();
        pass[i] += timed_call(t, texts, policies[i]);
      }
      first = (first + 1) % policies.size();
    });
    for (std::size_t i = 0; i < points.size(); ++i) seconds[i].push_back(pass[i]);
  }
  const double dense = median(seconds.front());
  for (std::size_t i = 0; i < points.size(); ++i) {
    points[i]->seconds = median(seconds[i]);
    points[i]->measured = dense / points[i]->seconds;
  }
}

// Keep exponents from their increments (w_l = step_1 + ... + step_l), scaled to w_L = L (the
// schedule does not change with the scale: one r selects it) and rounded for lat.json.
std::optional<std::vector<double>> exponents_of(const std::vector<double>& steps) {
  double total = 0;
  for (double step : steps) total += step;
  if (total <= 0) return std::nullopt;
  std::vector<double> w;
  double sum = 0;
  for (double step : steps) {
    sum += step;
    w.push_back(std::round(sum / total * static_cast<double>(steps.size()) * 1e4) / 1e4);
  }
  return w;
}

// Whether `candidate` labels more inputs correctly than `best` by more than chance allows: among
// the inputs whose correctness changed, gains - losses > z sqrt(gains + losses) (a sign test; with
// z = 0, simply more inputs right).
bool beats(const Point& candidate, const Point& best, double z) {
  int gains = 0, losses = 0;
  for (std::size_t i = 0; i < candidate.right.size(); ++i) {
    gains += candidate.right[i] && !best.right[i] ? 1 : 0;
    losses += !candidate.right[i] && best.right[i] ? 1 : 0;
  }
  return gains > losses && gains - losses > z * std::sqrt(static_cast<double>(gains + losses));
}

// A seeded coordinate search over the increments of the keep exponents, from the geometric
// schedule (every increment 1): each move scales one layer's increment by 0, 1/2 or 2 (or gives
// a zero one half or twice the mean), and a move is kept when it beats the schedule so far.
// Sweeps in a seeded random order until one keeps nothing, the time runs out or --evaluations
// schedules were tried; with a cap the time does not stop first, the search repeats exactly.
Point search(const Tuning& t, double speedup, const Point& geometric, std::mt19937& rng) {
  const Args& a = t.a;
  const auto deadline = Clock::now() + std::chrono::duration<double>(a.search_seconds);
  std::vector<double> steps(static_cast<std::size_t>(geometric.layers), 1.0);
  Point best = geometric;
  int tried = 0;
  for (bool improved = true; improved && Clock::now() < deadline;) {
    improved = false;
    std::vector<std::pair<std::size_t, double>> moves;
    for (std::size_t l = 0; l < steps.size(); ++l) {
      for (double factor : {0.0, 0.5, 2.0}) moves.emplace_back(l, factor);
    }
    std::shuffle(moves.begin(), moves.end(), rng);
    for (const auto& [l, factor] : moves) {
      if (Clock::now() >= deadline) break;
      if (a.search_evaluations > 0 && tried >= a.search_evaluations) {
        improved = false;
        break;
      }
      double mean = 0;
      for (double step : steps) mean += step / static_cast<double>(steps.size());
      auto candidate = steps;
      candidate[l] = steps[l] > 0 ? steps[l] * factor : factor * mean;
      const auto exponents = exponents_of(candidate);
      if (candidate == steps || !exponents) continue;
      Point p;
      try {
        p = evaluate(t, speedup, *exponents);
      } catch (const lat::Error&) {
        continue;  // this schedule cannot reach the speedup at the maximum length
      }
      ++tried;
      if (beats(p, best, a.significance)) {
        best = p;
        steps = candidate;
        improved = true;
        std::cout << "    search " << speedup << ": " << std::setprecision(2) << p.accuracy
                  << " with exponents";
        for (double w : p.exponents) std::cout << " " << w;
        std::cout << std::endl;
      }
    }
  }
  std::cout << "    search " << speedup << ": " << tried << " schedules tried" << std::endl;
  return best;
}

lat::TunedPoint tuned_point(const Point& p, std::size_t inputs) {
  lat::TunedPoint t{.speedup = p.speedup,
                    .exponents = p.exponents,
                    .mean_cosine = p.mean_cosine,
                    .p5_cosine = p.p5_cosine,
                    .recall_at_10 = p.recall_at_10,
                    .predicted_speedup = p.predicted,
                    .measured_speedup = p.measured,
                    .reached = p.reached,
                    .inputs = static_cast<int>(inputs)};
  if (!p.recall_at_10) t.accuracy = p.accuracy;
  return t;
}

std::string svg_curve(const std::vector<Row>& rows, const Point& chosen, double floor_accuracy,
                      const std::string& title, const std::string& quality_axis) {
  const double w = 640, h = 400, left = 70, right = 30, top = 50, bottom = 60;
  double lo = floor_accuracy, hi = floor_accuracy, max_s = 1.5;
  for (const auto& r : rows) {
    for (const Point* p : {&r.geometric, r.other ? &*r.other : nullptr}) {
      if (!p) continue;
      lo = std::min(lo, p->accuracy);
      hi = std::max(hi, p->accuracy);
      max_s = std::max(max_s, p->measured);
    }
  }
  lo = std::floor(lo - 1), hi = std::ceil(hi + 1), max_s = std::ceil(max_s * 2) / 2;
  auto x = [&](double s) { return left + (s - 1) / (max_s - 1) * (w - left - right); };
  auto y = [&](double acc) { return top + (hi - acc) / (hi - lo) * (h - top - bottom); };
  std::ostringstream svg;
  svg << std::fixed << std::setprecision(1);
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n"
      << "<text x='" << w / 2 << "' y='24' text-anchor='middle' font-size='13'>" << title
      << "</text>\n";
  const double step = (hi - lo) > 20 ? 5 : (hi - lo) > 8 ? 2 : 1;
  for (double acc = std::ceil(lo / step) * step; acc <= hi; acc += step) {
    svg << "<line x1='" << left << "' x2='" << w - right << "' y1='" << y(acc) << "' y2='" << y(acc)
        << "' stroke='#ddd'/><text x='" << left - 8 << "' y='" << y(acc) + 4
        << "' text-anchor='end'>" << acc << "</text>\n";
  }
  for (double s = 1; s <= max_s + 1e-9; s += 0.5) {
    svg << "<line x1='" << x(s) << "' x2='" << x(s) << "' y1='" << top << "' y2='" << h - bottom
        << "' stroke='#eee'/><text x='" << x(s) << "' y='" << h - bottom + 18
        << "' text-anchor='middle'>" << s << "</text>\n";
  }
  svg << "<line x1='" << left << "' x2='" << w - right << "' y1='" << y(floor_accuracy) << "' y2='"
      << y(floor_accuracy) << "' stroke='#c33' stroke-dasharray='6 4'/><text x='" << w - right
      << "' y='" << y(floor_accuracy) - 6 << "' text-anchor='end' fill='#c33'>budget</text>\n";
  struct Curve {
    const char* name;
    const char* colour;
    std::vector<const Point*> points;
  };
  std::vector<Curve> curves{{"geometric", "#2563eb", {}}};
  for (const auto& r : rows) curves[0].points.push_back(&r.geometric);
  if (std::any_of(rows.begin(), rows.end(), [](const Row& r) { return r.other.has_value(); })) {
    curves.push_back({"searched exponents", "#ea580c", {}});
    for (const auto& r : rows) curves[1].points.push_back(r.other ? &*r.other : &r.geometric);
  }
  for (std::size_t c = 0; c < curves.size(); ++c) {
    svg << "<polyline fill='none' stroke='" << curves[c].colour << "' stroke-width='2' points='";
    for (const Point* p : curves[c].points) svg << x(p->measured) << "," << y(p->accuracy) << " ";
    svg << "'/>\n";
    for (const Point* p : curves[c].points) {
      const bool pick = p->speedup == chosen.speedup && p->exponents == chosen.exponents;
      svg << "<circle cx='" << x(p->measured) << "' cy='" << y(p->accuracy) << "' r='"
          << (pick ? 7 : 4) << "' fill='" << (pick ? "#16a34a" : curves[c].colour)
          << "'><title>asked " << p->speedup << "</title></circle>\n";
    }
    svg << "<text x='" << left + 10 << "' y='" << top + 16 + 16 * static_cast<double>(c)
        << "' fill='" << curves[c].colour << "'>" << curves[c].name << "</text>\n";
  }
  svg << "<text x='" << (left + w - right) / 2 << "' y='" << h - 18
      << "' text-anchor='middle'>measured speedup (wall time of the set at speedup 1 / at s)"
      << "</text>\n<text transform='translate(18," << (top + h - bottom) / 2
      << ") rotate(-90)' text-anchor='middle'>" << quality_axis << "</text>\n</svg>\n";
  return svg.str();
}

// The last part of a path that names something: the folder of a model, the file of a set.
std::string name_of(const std::string& path) {
  const std::filesystem::path p(path);
  const std::string last = p.filename().string();
  if (last.empty()) return p.parent_path().filename().string();
  return last == "holdout.tsv" || last == "dev.tsv" || last == "test.tsv"
             ? p.parent_path().filename().string() + "/" + last
             : last;
}

void print(const Point& p, const char* kind, std::size_t inputs) {
  std::cout << std::setprecision(2) << std::setw(7) << p.speedup << std::setw(11) << kind
            << std::setw(10) << p.accuracy << std::setw(11) << p.predicted << std::setw(10)
            << p.measured << std::setw(9) << p.seconds << std::setw(8) << p.reached << "/"
            << inputs;
  if (p.mean_cosine) {
    std::cout << std::setprecision(3) << "  cosine mean " << *p.mean_cosine << ", 5th percentile "
              << *p.p5_cosine << std::setprecision(2);
  }
  if (!p.exponents.empty()) {
    std::cout << "  exponents";
    for (double w : p.exponents) std::cout << " " << w;
  }
  std::cout << std::endl;
}

// int8-static's activation ranges, calibrated at fp32 on the first --calibration-texts texts of
// --calibration, and written into the model folder's lat.json beside what it holds, where the
// encoders of this run read them.
lat::Int8Ranges calibrate_ranges(const Args& a) {
  const auto lines = lat::cli::read_labelled_file(a.calibration);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < lines.size() && std::ssize(texts) < a.calibration_texts; ++i)
    texts.push_back(lines[i].text);
  if (texts.empty()) throw std::runtime_error(a.calibration + ": no lines");
  const lat::Encoder fp32(a.model, {.threads = a.threads,
                                    .max_length = a.max_length,
                                    .speedup = 1.0,
                                    .precision = lat::Precision::kFp32});
  lat::Int8Ranges ranges = fp32.calibrate_ranges(texts);
  ranges.calibrated_on = a.calibration;
  const std::filesystem::path file = std::filesystem::path(a.model) / "lat.json";
  lat::Settings settings =
      std::filesystem::exists(file) ? lat::read_settings(file) : lat::Settings{};
  settings.int8_ranges = ranges;
  lat::write_settings(file, settings);
  std::cout << "int8-static ranges calibrated on " << texts.size() << " texts of " << a.calibration
            << ", written to " << file.string() << "\n";
  return ranges;
}

int run(const Args& a) {
  const auto lines = lat::cli::read_labelled_file(a.data);
  if (lines.empty()) throw std::runtime_error(a.data + ": no lines");
  // Ranges are kept where this run does not calibrate them: a tuning at another precision does
  // not drop them.
  std::optional<lat::Int8Ranges> ranges;
  if (a.precision == lat::Precision::kInt8Static) {
    ranges = calibrate_ranges(a);
  } else if (std::filesystem::exists(a.out)) {
    ranges = lat::read_settings(a.out).int8_ranges;
  }
  const lat::CostModel cost =
      lat::cli::cost_model_from_flag(a.cost, a.model, a.threads, a.precision);
  if (a.cost == "calibrated") {
    std::cout << "calibrated cost model: " << lat::to_string(cost) << "\n";
  }
  const lat::Encoder encoder(a.model, {.threads = a.threads,
                                       .max_length = a.max_length,
                                       .speedup = 1.0,
                                       .precision = a.precision,
                                       .cost = cost,
                                       .floor = a.floor});
  Tuning t{a, encoder, lines, {}};
  if (t.classifier()) {
    for (const auto& l : lines) {
      if (!l.gold) throw std::runtime_error(a.data + ": a line without a gold label: " + l.text);
    }
  } else if (a.search_seconds > 0) {
    throw std::runtime_error(a.model + " has no classifier head: --search needs one");
  }
  std::vector<std::pair<double, std::vector<double>>> given;
  if (!a.schedules.empty()) {
    for (const auto& point : lat::read_settings(a.schedules).curve)
      given.emplace_back(point.speedup, point.exponents);
  } else {
    for (double s : a.speedups) given.emplace_back(s, std::vector<double>{});
  }
  if (given.empty() || given.front().first != 1.0) given.insert(given.begin(), {1.0, {}});
  std::mt19937 rng(a.seed);
  std::vector<Row> rows;
  const char* quality = t.classifier() ? "accuracy" : "recall@10";
  std::cout << "precision " << lat::to_string(a.precision) << ", row floor " << a.floor
            << (t.classifier() ? "" : "; quality: agreement with the dense embeddings") << "\n"
            << "speedup   schedule " << std::setw(9) << quality
            << "  predicted  measured  seconds  reached\n"
            << std::fixed;
  for (const auto& [s, exponents] : given) {
    std::vector<std::vector<float>> embeddings;
    Row row{evaluate(t, s, {}, rows.empty() ? &embeddings : nullptr), std::nullopt};
    if (rows.empty() && !t.classifier()) {
      t.dense = std::move(embeddings);
      embedding_quality(row.geometric, t.dense, t.dense);
    }
    const double dense_seconds =
        rows.empty() ? row.geometric.seconds : rows.front().geometric.seconds;
    row.geometric.measured = dense_seconds / row.geometric.seconds;
    print(row.geometric, "geometric", lines.size());
    if (s > 1 && !exponents.empty()) {
      row.other = evaluate(t, s, exponents);
    } else if (s > 1 && a.search_seconds > 0) {
      row.other = search(t, s, row.geometric, rng);
    }
    if (row.other) {
      row.other->measured = dense_seconds / row.other->seconds;
      print(*row.other, "searched", lines.size());
    }
    rows.push_back(std::move(row));
  }
  if (a.rounds > 0) {
    std::vector<Point*> points;
    for (auto& r : rows) {
      points.push_back(&r.geometric);
      if (r.other && !r.other->exponents.empty()) points.push_back(&*r.other);
    }
    time_again(t, points);
    std::cout << "\ntimed again, medians of " << a.rounds << " passes:\n";
    for (const Point* p : points)
      print(*p, p->exponents.empty() ? "geometric" : "searched", lines.size());
  }
  const double floor_accuracy = rows.front().geometric.accuracy - a.budget;
  const Point* chosen = &rows.front().geometric;
  for (const auto& r : rows) {
    if (r.best().accuracy >= floor_accuracy && r.best().speedup >= chosen->speedup)
      chosen = &r.best();
  }
  lat::Settings out;
  out.speedup = chosen->speedup;
  out.precision = a.precision;
  if (cost.weight_flops > 0) out.weight_flops = cost.weight_flops;
  if (cost.attention_flops > 0) out.attention_flops = cost.attention_flops;
  if (cost.input_flops > 0) out.input_flops = cost.input_flops;
  if (a.floor > 0) out.floor = a.floor;
  out.exponents = chosen->exponents;
  // Per speedup, the searched (or given) schedule where there is one: a call at that speedup
  // runs its exponents, and the next --schedules run reads them.
  for (const auto& r : rows)
    out.curve.push_back(tuned_point(r.other ? *r.other : r.geometric, lines.size()));
  lat::TuningRecord record{.tuned_on = a.data, .budget_points = a.budget};
  if (t.classifier()) record.dense_accuracy = rows.front().geometric.accuracy;
  if (a.search_seconds > 0) {
    record.search_seconds = a.search_seconds;
    record.search_evaluations = a.search_evaluations;
    record.search_significance = a.significance;
    record.search_seed = static_cast<int>(a.seed);
  }
  record.schedules = a.schedules;
  out.tuning = record;
  out.int8_ranges = ranges;
  lat::write_settings(a.out, out);
  std::ofstream(a.plot) << svg_curve(
      rows, *chosen, floor_accuracy,
      std::string(quality) + " against measured speedup: " + name_of(a.model) + " on " +
          name_of(a.data) + " (" + lat::to_string(a.precision) + ", batch " +
          std::to_string(a.batch) + ")",
      t.classifier() ? "accuracy (%)" : "recall@10 against dense (%)");
  std::cout << "\nchose speedup " << chosen->speedup
            << (chosen->exponents.empty() ? "" : ", searched exponents") << " (" << quality
            << " within " << a.budget << " points of speedup 1); wrote " << a.out << " and "
            << a.plot << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    return run(args);
  } catch (const std::exception& e) {
    std::cerr << "lat_tune: " << e.what() << "\n";
    return 1;
  }
}
