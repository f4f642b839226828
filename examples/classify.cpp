// classify: label texts with a lat encoder, the way an application would.
//
//   classify --model DIR [--speedup S] [--precision fp32|bf16|int8] [--threads N] [--max-length N]
//            [--batch N] [--json] [--pairs]
//            [--ids] [--explain] [--label NAME=DESCRIPTION]... [--input FILE|-] [TEXT ...]
//
// A model with a classifier head (BertForSequenceClassification) labels texts itself; a plain
// embedding model labels them zero-shot, by the --label descriptions they are closest to.
// Input lines are a text, or text<TAB>gold label (index or name); with gold labels an accuracy
// summary ends the output. --explain shows, layer by layer, the word pieces each text kept.
// --pairs scores first<TAB>second[<TAB>gold] lines with a cross-encoder (TEXT arguments in twos);
// a head of one logit prints its score, and a gold score gives the mean absolute error (and, for
// a sigmoid, the accuracy at 0.5).
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <iostream>
#include <lat/encoder.hpp>
#include <lat/error.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "flags.hpp"
#include "labelled_text.hpp"
#include "precision_flag.hpp"

namespace {

struct Args {
  std::string model;
  lat::EncoderOptions options;
  int batch = 8;
  bool json = false;
  bool ids = false;
  bool explain = false;
  bool pairs = false;
  std::vector<lat::ZeroShotClassifier::Label> labels;
  std::optional<std::string> input;
  std::vector<std::string> texts;
};

const lat::cli::Flags& flags() {
  using lat::cli::Flag;
  static const lat::cli::Flags table(
      "classify", "label texts with a lat model",
      {Flag::text("--model", "DIR", "the model folder").required(),
       Flag::number("--speedup", "S", "the speedup knob, at least 1")
           .at_least(1)
           .shows("lat.json's, else 1"),
       lat::cli::precision_flag("").shows("lat.json's, else fp32"),
       Flag::integer("--threads", "N", "threads per call").at_least(1).shows("every core"),
       Flag::integer("--max-length", "N", "tokens per input, specials included")
           .at_least(0)
           .shows("the model folder's"),
       Flag::integer("--batch", "N", "texts per call", "8").at_least(1),
       Flag::on_off("--json", "one JSON object per text, then a summary"),
       Flag::on_off("--ids", "the token ids of each text too"),
       Flag::on_off("--explain", "the word pieces each layer kept"),
       Flag::on_off("--pairs", "score first<TAB>second pairs; TEXT arguments in twos"),
       Flag::texts("--label", "NAME=DESCRIPTION",
                   "a label to classify by similarity, for a model without a classifier head"),
       Flag::text("--input", "FILE|-", "lines of text or text<TAB>gold label; -: standard input")
           .shows("standard input, when no TEXT is given")},
      "[TEXT ...]");
  return table;
}

Args parse(int argc, char** argv) {
  const lat::cli::Args flag = flags().parse(argc, argv);
  Args a;
  a.model = flag.text("--model");
  if (flag.has("--speedup")) a.options.speedup = flag.number("--speedup");
  if (flag.has("--precision")) {
    a.options.precision = lat::cli::precision_from_flag(flag.text("--precision"));
  }
  if (flag.has("--threads")) a.options.threads = flag.integer("--threads");
  if (flag.has("--max-length")) a.options.max_length = flag.integer("--max-length");
  a.batch = flag.integer("--batch");
  a.json = flag.on("--json");
  a.ids = flag.on("--ids");
  a.explain = flag.on("--explain");
  a.pairs = flag.on("--pairs");
  a.options.trace = a.explain;
  for (const auto& v : flag.texts("--label")) {
    const auto eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      flags().fail(lat::cli::value_error("--label", v, "not NAME=DESCRIPTION"));
    }
    a.labels.push_back({v.substr(0, eq), v.substr(eq + 1)});
  }
  if (flag.has("--input")) a.input = flag.text("--input");
  a.texts = flag.positional();
  if (a.pairs && a.texts.size() % 2 != 0) {
    flags().fail("--pairs takes TEXT arguments in twos (first, second); " +
                 std::to_string(a.texts.size()) + " were given");
  }
  if (a.texts.empty() && !a.input) a.input = "-";
  return a;
}

std::vector<lat::cli::LabelledText> read_lines(const Args& a) {
  std::vector<lat::cli::LabelledText> lines;
  for (std::size_t i = 0; i < a.texts.size(); i += a.pairs ? 2 : 1) {
    lines.push_back(
        {a.texts[i], std::nullopt, a.pairs ? std::optional(a.texts[i + 1]) : std::nullopt});
  }
  if (a.input) {
    auto more = lat::cli::read_labelled_file(*a.input, a.pairs);
    lines.insert(lines.end(), more.begin(), more.end());
  }
  return lines;
}

template <typename T>
nlohmann::json array(const std::vector<T>& v) {
  return nlohmann::json(v);
}

lat::Encoding encoding_of(const lat::Encoder& encoder, const lat::cli::LabelledText& line) {
  return line.second ? encoder.tokenize_pair(line.text, *line.second) : encoder.tokenize(line.text);
}

// The input as printed: a pair's texts joined by " | ".
std::string shown(const lat::cli::LabelledText& line) {
  return line.second ? line.text + " | " + *line.second : line.text;
}

// The word pieces each layer kept, in order: layer l holds the pieces of trace[l].positions.
std::vector<std::vector<std::string>> kept_pieces(const lat::Encoder& encoder,
                                                  const lat::cli::LabelledText& line,
                                                  const lat::RunInfo& r) {
  const auto ids = encoding_of(encoder, line).ids;
  std::vector<std::vector<std::string>> layers;
  for (const auto& layer : r.trace) {
    auto& pieces = layers.emplace_back();
    for (int p : layer.positions)
      pieces.push_back(encoder.tokenizer().token(ids[static_cast<std::size_t>(p)]));
  }
  return layers;
}

int run(const Args& a) {
  const auto shared = std::make_shared<const lat::Encoder>(a.model, a.options);
  const lat::Encoder& encoder = *shared;
  std::optional<lat::ZeroShotClassifier> zero_shot;
  if (!encoder.info().classifier) {
    if (a.pairs) throw std::runtime_error(a.model + " has no classifier head: --pairs needs one");
    if (a.labels.size() < 2) {
      throw std::runtime_error(a.model +
                               " has no classifier head: give --label NAME=DESCRIPTION at least "
                               "twice to classify zero-shot by similarity");
    }
    zero_shot.emplace(shared, a.labels);
  }
  std::vector<std::string> names = encoder.info().labels;
  if (zero_shot) {
    names.clear();
    for (const auto& l : zero_shot->labels()) names.push_back(l.name);
  }

  // A head of one logit scores; its gold labels are scores too.
  const bool scores = names.size() == 1;
  const bool sigmoid = encoder.info().activation == lat::HeadActivation::kSigmoid;
  const auto lines = read_lines(a);
  std::vector<double> times;
  double total_ms = 0, total_error = 0;
  int graded = 0, correct = 0;
  for (std::size_t start = 0; start < lines.size(); start += static_cast<std::size_t>(a.batch)) {
    const std::size_t end = std::min(lines.size(), start + static_cast<std::size_t>(a.batch));
    std::vector<std::string> texts;
    std::vector<lat::TextPair> pairs;
    for (std::size_t i = start; i < end; ++i) {
      texts.push_back(lines[i].text);
      if (a.pairs) pairs.push_back({lines[i].text, *lines[i].second});
    }
    const auto results = a.pairs     ? encoder.classify(pairs)
                         : zero_shot ? zero_shot->classify(texts)
                                     : encoder.classify(texts);
    total_ms += results.front().run.ms;
    for (std::size_t i = start; i < end; ++i) {
      const auto& r = results[i - start];
      times.push_back(r.run.ms);
      std::optional<bool> right;
      if (lines[i].gold && scores) {
        double gold = 0;
        try {
          gold = lat::cli::read_number(*lines[i].gold);
        } catch (const lat::cli::BadValue& e) {
          throw std::runtime_error("input " + std::to_string(i + 1) + ": gold score '" +
                                   *lines[i].gold + "': " + e.what());
        }
        total_error += std::abs(r.probs[0] - gold);
        if (sigmoid) right = (r.probs[0] >= 0.5) == (gold >= 0.5);
        ++graded;
      } else if (lines[i].gold) {
        right = lat::cli::gold_index(*lines[i].gold, names) == r.label;
        ++graded;
      }
      correct += right.value_or(false) ? 1 : 0;
      if (a.json) {
        nlohmann::json j{
            {"label", r.label_name},  {"probs", array(r.probs)},      {"logits", array(r.logits)},
            {"tokens", r.run.tokens}, {"truncated", r.run.truncated}, {"kept", array(r.run.kept)},
            {"ms", r.run.ms}};
        if (right) j["correct"] = *right;
        if (scores) j["score"] = r.probs[0];
        if (a.ids) j["ids"] = array(encoding_of(encoder, lines[i]).ids);
        if (a.explain) j["explain"] = kept_pieces(encoder, lines[i], r.run);
        std::cout << j.dump() << "\n";
      } else {
        std::cout << std::left << std::setw(12) << r.label_name << std::fixed
                  << std::setprecision(3) << r.probs[static_cast<std::size_t>(r.label)] << "  "
                  << (right ? (*right ? "ok     " : "wrong  ") : "") << shown(lines[i]) << "\n";
        if (a.ids) {
          std::cout << "            ids:";
          for (int id : encoding_of(encoder, lines[i]).ids) std::cout << ' ' << id;
          std::cout << "\n";
        }
        if (a.explain) {
          const auto layers = kept_pieces(encoder, lines[i], r.run);
          for (std::size_t l = 0; l < layers.size(); ++l) {
            std::cout << "            layer " << l + 1 << " keeps " << layers[l].size() << "/"
                      << (l == 0 ? r.run.tokens : static_cast<int>(layers[l - 1].size())) << ":";
            for (const auto& piece : layers[l]) std::cout << ' ' << piece;
            std::cout << "\n";
          }
        }
      }
    }
  }
  std::sort(times.begin(), times.end());
  const double median = times.empty() ? 0.0 : times[times.size() / 2];
  if (a.json) {
    nlohmann::json s{{"count", lines.size()},
                     {"total_ms", total_ms},
                     {"median_ms", median},
                     {"speedup", encoder.policy().speedup()},
                     {"precision", lat::to_string(encoder.info().precision)},
                     {"threads", encoder.info().threads}};
    if (graded > 0 && (!scores || sigmoid)) s["accuracy"] = static_cast<double>(correct) / graded;
    if (graded > 0 && scores) s["mean_abs_error"] = total_error / graded;
    std::cout << nlohmann::json{{"summary", s}}.dump() << "\n";
  } else {
    std::cout << "\n"
              << lines.size() << (a.pairs ? " pairs in " : " texts in ") << std::setprecision(1)
              << total_ms << " ms (median call " << median << " ms, batch " << a.batch << ", "
              << encoder.info().threads << " threads, speedup " << encoder.policy().speedup()
              << ", " << lat::to_string(encoder.info().precision) << ")";
    if (graded > 0 && (!scores || sigmoid)) {
      std::cout << "; accuracy " << std::setprecision(4) << static_cast<double>(correct) / graded
                << " on " << graded << " labelled";
    }
    if (graded > 0 && scores) {
      std::cout << "; mean absolute error " << std::setprecision(4) << total_error / graded
                << " on " << graded << " scored";
    }
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    return run(args);
  } catch (const std::exception& e) {  // lat::Error among them: its message names the fault
    std::cerr << "classify: " << e.what() << "\n";
    return 1;
  }
}
