// lat_tune: offline tuning of the speedup knob. Runs a labelled set at a grid of speedups,
// prints accuracy, predicted and measured speedup for each, picks the largest speedup whose
// accuracy drop against speedup 1 stays within the budget, writes it to lat.json beside the model
// (where classify and every Encoder built without an explicit speedup read it), and draws the
// accuracy-versus-speedup curve as an SVG picture. Everything runs at --precision (fp32 unless
// given), which lat.json records beside the speedup. With --cost calibrated it first measures
// this machine's cost model at that precision (Encoder::calibrate), tunes under it and writes it
// to lat.json too.
//
//   lat_tune --model DIR --data TSV [--budget POINTS] [--speedups 1,1.5,2,...] [--threads N]
//            [--precision fp32|bf16|int8] [--max-length N] [--batch N]
//            [--cost flops|calibrated|WEIGHT_FLOPS] [--out FILE] [--plot FILE]
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <lat/encoder.hpp>
#include <lat/error.hpp>
#include <lat/schedule.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cost_flag.hpp"
#include "labelled_text.hpp"
#include "number.hpp"
#include "precision_flag.hpp"

namespace {

struct Args {
  std::string model, data, out, plot, cost = "flops";
  double budget = 1.0;  // accuracy points
  std::vector<double> speedups{1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6};
  std::optional<int> threads;
  lat::Precision precision = lat::Precision::kFp32;
  int max_length = 0, batch = 32;
};

struct Point {
  double speedup, accuracy, predicted, measured, seconds;
  std::vector<double> exponents;  // the schedule's, as the folder's lat.json set them
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "lat_tune: " << problem
            << "\nusage: lat_tune --model DIR --data TSV [--budget POINTS] [--speedups LIST] "
               "[--threads N] [--precision fp32|bf16|int8] [--max-length N] [--batch N] "
               "[--cost flops|calibrated|WEIGHT_FLOPS] "
               "[--out FILE] [--plot FILE]\n";
  std::exit(2);
}

double number(const std::string& flag, const std::string& value) {
  const auto v = lat::cli::whole_number(value);
  if (!v || !std::isfinite(*v)) usage(flag + " needs a number, got '" + value + "'");
  return *v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) usage(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--model") {
      a.model = value;
    } else if (arg == "--data") {
      a.data = value;
    } else if (arg == "--budget") {
      a.budget = number(arg, value);
    } else if (arg == "--speedups") {
      a.speedups.clear();
      std::stringstream in(value);
      for (std::string item; std::getline(in, item, ',');) a.speedups.push_back(number(arg, item));
    } else if (arg == "--threads") {
      a.threads = static_cast<int>(number(arg, value));
    } else if (arg == "--precision") {
      try {
        a.precision = lat::cli::precision_from_flag(value);
      } catch (const std::invalid_argument& e) {
        usage(e.what());
      }
    } else if (arg == "--max-length") {
      a.max_length = static_cast<int>(number(arg, value));
    } else if (arg == "--batch") {
      a.batch = static_cast<int>(number(arg, value));
    } else if (arg == "--out") {
      a.out = value;
    } else if (arg == "--plot") {
      a.plot = value;
    } else if (arg == "--cost") {
      a.cost = value;
      if (a.cost != "flops" && a.cost != "calibrated") number(arg, value);
    } else {
      usage("unknown flag " + arg);
    }
  }
  if (a.model.empty() || a.data.empty()) usage("--model and --data are required");
  if (a.batch < 1) usage("--batch must be at least 1");
  if (a.budget < 0) usage("--budget must not be negative");
  if (a.speedups.empty() || a.speedups.front() != 1.0) a.speedups.insert(a.speedups.begin(), 1.0);
  if (a.out.empty()) a.out = a.model + "/lat.json";
  if (a.plot.empty()) a.plot = a.model + "/lat_curve.svg";
  return a;
}

// Accuracy, cost-weighted predicted speedup and wall time of one speedup over the whole set.
Point evaluate(const Args& a, double speedup, const lat::CostModel& cost,
               const std::vector<lat::cli::LabelledText>& lines) {
  const lat::Encoder encoder(a.model, {.threads = a.threads,
                                       .max_length = a.max_length,
                                       .speedup = speedup,
                                       .precision = a.precision,
                                       .cost = cost});
  if (!encoder.info().classifier)
    throw std::runtime_error(a.model + " has no classifier head to tune");
  const auto& info = encoder.info();
  const lat::ModelShape shape{info.layers, info.hidden, info.intermediate};
  int correct = 0;
  double dense_cost = 0, pruned_cost = 0, seconds = 0;
  for (std::size_t start = 0; start < lines.size(); start += static_cast<std::size_t>(a.batch)) {
    const std::size_t end = std::min(lines.size(), start + static_cast<std::size_t>(a.batch));
    std::vector<std::string> texts;
    for (std::size_t i = start; i < end; ++i) texts.push_back(lines[i].text);
    const auto t0 = std::chrono::steady_clock::now();
    const auto results = encoder.classify(texts);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (std::size_t i = start; i < end; ++i) {
      const auto& r = results[i - start];
      correct += lat::cli::gold_index(*lines[i].gold, info.labels) == r.label ? 1 : 0;
      int previous = r.run.tokens;
      for (int k : r.run.kept) {
        dense_cost += lat::layer_cost(shape, r.run.tokens, r.run.tokens, cost);
        pruned_cost += lat::layer_cost(shape, previous, k, cost);
        previous = k;
      }
    }
  }
  return {speedup,
          100.0 * correct / static_cast<double>(lines.size()),
          dense_cost / pruned_cost,
          0.0,
          seconds,
          info.exponents};
}

std::string svg_curve(const std::vector<Point>& points, double chosen, double floor_accuracy,
                      const std::string& title) {
  const double w = 640, h = 400, left = 70, right = 30, top = 50, bottom = 60;
  double lo = floor_accuracy, hi = floor_accuracy, max_s = 1;
  for (const auto& p : points) {
    lo = std::min(lo, p.accuracy);
    hi = std::max(hi, p.accuracy);
    max_s = std::max(max_s, p.speedup);
  }
  lo = std::floor(lo - 1), hi = std::ceil(hi + 1);
  auto x = [&](double s) { return left + (s - 1) / (max_s - 1 + 1e-9) * (w - left - right); };
  auto y = [&](double acc) { return top + (hi - acc) / (hi - lo) * (h - top - bottom); };
  std::ostringstream svg;
  svg << std::fixed << std::setprecision(1);
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='" << h
      << "' font-family='sans-serif' font-size='12'>\n<rect width='100%' height='100%' "
         "fill='white'/>\n"
      << "<text x='" << w / 2 << "' y='24' text-anchor='middle' font-size='15'>" << title
      << "</text>\n";
  const double step = (hi - lo) > 20 ? 5 : (hi - lo) > 8 ? 2 : 1;
  for (double acc = std::ceil(lo / step) * step; acc <= hi; acc += step) {
    svg << "<line x1='" << left << "' x2='" << w - right << "' y1='" << y(acc) << "' y2='" << y(acc)
        << "' stroke='#ddd'/><text x='" << left - 8 << "' y='" << y(acc) + 4
        << "' text-anchor='end'>" << acc << "</text>\n";
  }
  for (const auto& p : points) {
    svg << "<line x1='" << x(p.speedup) << "' x2='" << x(p.speedup) << "' y1='" << top << "' y2='"
        << h - bottom << "' stroke='#eee'/><text x='" << x(p.speedup) << "' y='" << h - bottom + 18
        << "' text-anchor='middle'>" << p.speedup << "</text>\n";
  }
  svg << "<line x1='" << left << "' x2='" << w - right << "' y1='" << y(floor_accuracy) << "' y2='"
      << y(floor_accuracy) << "' stroke='#c33' stroke-dasharray='6 4'/><text x='" << w - right
      << "' y='" << y(floor_accuracy) - 6 << "' text-anchor='end' fill='#c33'>budget</text>\n";
  svg << "<polyline fill='none' stroke='#2563eb' stroke-width='2' points='";
  for (const auto& p : points) svg << x(p.speedup) << "," << y(p.accuracy) << " ";
  svg << "'/>\n";
  for (const auto& p : points) {
    const bool pick = p.speedup == chosen;
    svg << "<circle cx='" << x(p.speedup) << "' cy='" << y(p.accuracy) << "' r='" << (pick ? 7 : 4)
        << "' fill='" << (pick ? "#16a34a" : "#2563eb") << "'/><text x='" << x(p.speedup) << "' y='"
        << y(p.accuracy) - 10 << "' text-anchor='middle' font-size='10'>" << std::setprecision(2)
        << p.measured << "x</text>\n"
        << std::setprecision(1);
  }
  svg << "<text x='" << (left + w - right) / 2 << "' y='" << h - 18
      << "' text-anchor='middle'>speedup asked (labels above points: measured)</text>\n"
      << "<text transform='translate(18," << (top + h - bottom) / 2
      << ") rotate(-90)' text-anchor='middle'>accuracy (%)</text>\n</svg>\n";
  return svg.str();
}

int run(const Args& a) {
  const auto lines = lat::cli::read_labelled_file(a.data);
  if (lines.empty()) throw std::runtime_error(a.data + ": no labelled lines");
  for (const auto& l : lines) {
    if (!l.gold) throw std::runtime_error(a.data + ": a line without a gold label: " + l.text);
  }
  const lat::CostModel cost =
      lat::cli::cost_model_from_flag(a.cost, a.model, a.threads, a.precision);
  if (a.cost == "calibrated") {
    std::cout << "calibrated cost model: weight_flops " << cost.weight_flops << "\n";
  }
  std::vector<Point> points;
  std::cout << "precision " << lat::to_string(a.precision) << "\n"
            << "speedup  accuracy  predicted  measured  seconds\n"
            << std::fixed;
  for (double s : a.speedups) {
    Point p = evaluate(a, s, cost, lines);
    p.measured = points.empty() ? 1.0 : points.front().seconds / p.seconds;
    points.push_back(p);
    std::cout << std::setprecision(2) << std::setw(7) << s << std::setw(10) << p.accuracy
              << std::setw(11) << p.predicted << std::setw(10) << p.measured << std::setw(9)
              << p.seconds << std::endl;
  }
  const double floor_accuracy = points.front().accuracy - a.budget;
  double chosen = 1.0;
  for (const auto& p : points) {
    if (p.accuracy >= floor_accuracy) chosen = std::max(chosen, p.speedup);
  }
  nlohmann::json curve = nlohmann::json::array();
  for (const auto& p : points) {
    curve.push_back({{"speedup", p.speedup},
                     {"accuracy", p.accuracy},
                     {"predicted_speedup", p.predicted},
                     {"measured_speedup", p.measured}});
  }
  nlohmann::json out{{"speedup", chosen},
                     {"precision", lat::to_string(a.precision)},
                     {"tuned_on", a.data},
                     {"budget_points", a.budget},
                     {"dense_accuracy", points.front().accuracy},
                     {"curve", curve}};
  if (cost.weight_flops > 0) out["weight_flops"] = cost.weight_flops;
  // The schedule the curve was measured with (the folder's lat.json's) goes with the knob.
  if (!points.front().exponents.empty()) out["exponents"] = points.front().exponents;
  std::ofstream(a.out) << out.dump(1) << "\n";
  std::ofstream(a.plot) << svg_curve(
      points, chosen, floor_accuracy,
      "accuracy against speedup: " + a.model + " (" + lat::to_string(a.precision) + ")");
  std::cout << "\nchose speedup " << chosen << " (accuracy within " << a.budget
            << " points of speedup 1); wrote " << a.out << " and " << a.plot << "\n";
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
