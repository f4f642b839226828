// The Python module lat._lat: lat's C++ API, with the GIL released around every call into lat.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/filesystem.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <filesystem>
#include <lat/encoder.hpp>
#include <lat/error.hpp>
#include <lat/policy.hpp>
#include <lat/precision.hpp>
#include <lat/schedule.hpp>
#include <lat/settings.hpp>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace nb = nanobind;
using namespace nb::literals;

namespace {

// The Python type lat.Error; the module holds the reference that keeps it alive.
PyObject* error_type = nullptr;

// Owned floats handed to numpy without a copy: the capsule frees them with the array.
template <typename T>
nb::ndarray<nb::numpy, T> owned_array(std::vector<T>&& values,
                                      std::initializer_list<size_t> shape) {
  auto* heap = new std::vector<T>(std::move(values));
  nb::capsule owner(heap, [](void* p) noexcept { delete static_cast<std::vector<T>*>(p); });
  return nb::ndarray<nb::numpy, T>(heap->data(), shape, owner);
}

// A read-only view of a result's values; the result stays alive as long as the view.
template <typename T>
nb::ndarray<nb::numpy, const T> view(const std::vector<T>& values) {
  return nb::ndarray<nb::numpy, const T>(values.data(), {values.size()});
}

// Texts from any iterable of str (or UTF-8 bytes); one str is refused, not split into characters.
std::vector<std::string> texts_of(nb::handle texts) {
  if (PyUnicode_Check(texts.ptr()) || PyBytes_Check(texts.ptr())) {
    throw nb::type_error("expected a sequence of texts, got one text; wrap it in a list");
  }
  std::vector<std::string> out;
  if (nb::hasattr(texts, "__len__")) out.reserve(nb::len(texts));
  for (nb::handle item : texts) {
    if (PyUnicode_Check(item.ptr())) {
      Py_ssize_t size = 0;
      const char* data = PyUnicode_AsUTF8AndSize(item.ptr(), &size);
      if (!data) throw nb::python_error();
      out.emplace_back(data, static_cast<std::size_t>(size));
    } else if (PyBytes_Check(item.ptr())) {
      out.emplace_back(PyBytes_AS_STRING(item.ptr()),
                       static_cast<std::size_t>(PyBytes_GET_SIZE(item.ptr())));
    } else {
      throw nb::type_error(
          ("texts must be str or bytes, got " + std::string(nb::type_name(item.type()).c_str()))
              .c_str());
    }
  }
  return out;
}

// (first, second) pairs from any iterable of two-item sequences of str (or UTF-8 bytes).
std::vector<lat::TextPair> pairs_of(nb::handle pairs) {
  if (PyUnicode_Check(pairs.ptr()) || PyBytes_Check(pairs.ptr())) {
    throw nb::type_error("expected a sequence of (first, second) pairs, got one text");
  }
  std::vector<lat::TextPair> out;
  for (nb::handle item : pairs) {
    if (PyUnicode_Check(item.ptr()) || PyBytes_Check(item.ptr()) || !nb::hasattr(item, "__len__") ||
        nb::len(item) != 2) {
      throw nb::type_error(("pairs must be (first, second) sequences of two texts, got " +
                            std::string(nb::type_name(item.type()).c_str()))
                               .c_str());
    }
    const std::vector<std::string> two = texts_of(item);
    out.push_back({two[0], two[1]});
  }
  return out;
}

std::string text_of(nb::handle text) {
  if (PyBytes_Check(text.ptr())) {
    return {PyBytes_AS_STRING(text.ptr()), static_cast<std::size_t>(PyBytes_GET_SIZE(text.ptr()))};
  }
  return nb::cast<std::string>(text);
}

lat::Precision precision_of(const std::string& name) {
  if (auto p = lat::precision_from_string(name)) return *p;
  throw lat::Error(lat::ErrorCode::kOption,
                   "precision '" + name + "' is not " + lat::precision_names());
}

// The policy of a call: `policy` as given, else the encoder's for the keywords given, else none
// (the encoder's own).
std::optional<lat::Policy> call_policy(const lat::Encoder& e, std::optional<double> speedup,
                                       std::optional<std::vector<double>> exponents,
                                       std::optional<double> floor,
                                       std::optional<lat::Policy> policy) {
  if (policy) {
    if (speedup || exponents || floor)
      throw nb::value_error("give either policy or speedup/exponents/floor, not both");
    return policy;
  }
  if (!speedup && !exponents && !floor) return std::nullopt;
  return e.policy(speedup, std::move(exponents), floor);
}

// Every result carries the same run info (its member `run`); its accessors are bound once for
// each result type, so that Python reads them on the result itself.
template <typename Result, typename Class>
void bind_run_info(Class& cls) {
  cls.def_prop_ro(
         "tokens", [](const Result& r) { return r.run.tokens; },
         "Tokens that entered the encoder, special tokens included.")
      .def_prop_ro(
          "truncated", [](const Result& r) { return r.run.truncated; },
          "Whether the text was cut to max_length.")
      .def_prop_ro(
          "kept", [](const Result& r) { return r.run.kept; }, "How many rows each layer kept.")
      .def_prop_ro(
          "speedup", [](const Result& r) { return r.run.speedup; },
          "The speedup of the policy that ran it.")
      .def_prop_ro(
          "ms", [](const Result& r) { return r.run.ms; },
          "Wall time of the call that produced this result, in milliseconds.")
      .def_prop_ro(
          "trace", [](const Result& r) { return r.run.trace; },
          "ACC and kept positions of every layer (encoders built with trace=True).");
}

}  // namespace

NB_MODULE(_lat, m) {
  m.doc() = "lat: BERT-style encoders on the CPU, with ACC token pruning.";

  error_type = PyErr_NewExceptionWithDoc(
      "lat.Error", "An error from lat. .code names its kind; the message names the fault.",
      PyExc_RuntimeError, nullptr);
  m.attr("Error") = nb::handle(error_type);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const lat::Error& e) {
      nb::object instance = nb::steal(PyObject_CallFunction(error_type, "s", e.what()));
      if (!instance.is_valid()) return;  // the call's own Python error stands
      instance.attr("code") = lat::to_string(e.code());
      instance.attr("message") = e.what();
      PyErr_SetObject(error_type, instance.ptr());
    }
  });

  nb::class_<lat::Encoding>(m, "Encoding", "Token ids of one input, special tokens included.")
      .def(
          "__init__",
          [](lat::Encoding* self, std::vector<std::int32_t> ids,
             std::optional<std::vector<std::int32_t>> type_ids, bool truncated) {
            new (self) lat::Encoding{std::move(ids), type_ids.value_or(std::vector<std::int32_t>{}),
                                     truncated};
          },
          "ids"_a, "type_ids"_a = nb::none(), "truncated"_a = false)
      .def_rw("ids", &lat::Encoding::ids)
      .def_rw("type_ids", &lat::Encoding::type_ids, "Empty for all zeros.")
      .def_rw("truncated", &lat::Encoding::truncated)
      .def("__len__", [](const lat::Encoding& e) { return e.ids.size(); })
      .def("__repr__", [](const lat::Encoding& e) {
        return "Encoding(" + std::to_string(e.ids.size()) + " ids" +
               (e.truncated ? ", truncated)" : ")");
      });

  nb::class_<lat::LayerTrace>(m, "LayerTrace", "One layer's view of one input.")
      .def_prop_ro(
          "acc", [](const lat::LayerTrace& t) { return view(t.acc); },
          nb::rv_policy::reference_internal,
          "ACC of each row that entered the layer, in that order.")
      .def_ro("positions", &lat::LayerTrace::positions,
              "Original positions of the rows that left the layer.");

  auto output = nb::class_<lat::EncoderOutput>(
      m, "EncoderOutput", "Last hidden states of one input (its kept rows) and its embedding.");
  output
      .def_prop_ro(
          "hidden",
          [](const lat::EncoderOutput& o) {
            const size_t width = o.embedding.size();
            const size_t rows = width ? o.hidden.size() / width : 0;
            return nb::ndarray<nb::numpy, const float, nb::ndim<2>>(o.hidden.data(), {rows, width});
          },
          nb::rv_policy::reference_internal, "rows x hidden, float32")
      .def_prop_ro(
          "positions", [](const lat::EncoderOutput& o) { return view(o.positions); },
          nb::rv_policy::reference_internal, "Original position of each row of hidden.")
      .def_prop_ro(
          "embedding", [](const lat::EncoderOutput& o) { return view(o.embedding); },
          nb::rv_policy::reference_internal, "Pooled as the model folder says.")
      .def_prop_ro(
          "logits", [](const lat::EncoderOutput& o) { return view(o.logits); },
          nb::rv_policy::reference_internal, "Classifier models only; empty otherwise.");
  bind_run_info<lat::EncoderOutput>(output);

  auto classification = nb::class_<lat::Classification>(m, "Classification");
  classification.def_ro("label", &lat::Classification::label)
      .def_ro("label_name", &lat::Classification::label_name)
      .def_prop_ro(
          "probs", [](const lat::Classification& c) { return view(c.probs); },
          nb::rv_policy::reference_internal)
      .def_prop_ro(
          "logits", [](const lat::Classification& c) { return view(c.logits); },
          nb::rv_policy::reference_internal)
      .def("__repr__", [](const lat::Classification& c) {
        return "Classification(label_name='" + c.label_name + "', p=" +
               std::to_string(c.probs.empty() ? 0.f : c.probs[static_cast<size_t>(c.label)]) +
               ", tokens=" + std::to_string(c.run.tokens) + ")";
      });
  bind_run_info<lat::Classification>(classification);

  m.def(
      "activate",
      [](const std::string& name, nb::ndarray<const float, nb::ndim<2>, nb::c_contig> logits) {
        lat::HeadActivation activation = lat::HeadActivation::kSoftmax;
        for (auto a : {lat::HeadActivation::kSoftmax, lat::HeadActivation::kSigmoid,
                       lat::HeadActivation::kIdentity}) {
          if (name == lat::to_string(a)) activation = a;
        }
        if (name != lat::to_string(activation)) {
          throw nb::value_error(("no activation '" + name + "'").c_str());
        }
        const size_t rows = logits.shape(0), cols = logits.shape(1);
        std::vector<float> out;
        out.reserve(rows * cols);
        for (size_t r = 0; r < rows; ++r) {
          const auto row = lat::activate(activation, {logits.data() + r * cols, cols});
          out.insert(out.end(), row.begin(), row.end());
        }
        return owned_array(std::move(out), {rows, cols});
      },
      "activation"_a, "logits"_a,
      "Each row of logits through a head's activation: 'softmax', 'sigmoid' or 'identity'.");

  auto ranked = nb::class_<lat::RankedDocument>(m, "RankedDocument",
                                                "One document of a rerank: its index and score.");
  ranked.def_ro("index", &lat::RankedDocument::index)
      .def_ro("score", &lat::RankedDocument::score)
      .def("__repr__", [](const lat::RankedDocument& r) {
        return "RankedDocument(index=" + std::to_string(r.index) +
               ", score=" + std::to_string(r.score) + ")";
      });
  bind_run_info<lat::RankedDocument>(ranked);

  nb::class_<lat::CostModel>(m, "CostModel",
                             "What a layer costs; weight_flops, attention_flops and input_flops "
                             "0 is the FLOP count.")
      .def(nb::init<>())
      .def(
          "__init__",
          [](lat::CostModel* self, double weight_flops, double attention_flops,
             double input_flops) {
            new (self) lat::CostModel{weight_flops, 1, attention_flops, input_flops};
          },
          "weight_flops"_a, "attention_flops"_a = 0.0, "input_flops"_a = 0.0)
      .def_rw("weight_flops", &lat::CostModel::weight_flops)
      .def_rw("attention_flops", &lat::CostModel::attention_flops)
      .def_rw("input_flops", &lat::CostModel::input_flops)
      .def("__repr__", [](const lat::CostModel& c) {
        return "CostModel(weight_flops=" + std::to_string(c.weight_flops) +
               ", attention_flops=" + std::to_string(c.attention_flops) +
               ", input_flops=" + std::to_string(c.input_flops) + ")";
      });

  nb::class_<lat::Policy>(m, "Policy",
                          "What decides a call's schedule: speedup, keep exponents, row floor, "
                          "cost model. Checked when made.")
      .def(
          "__init__",
          [](lat::Policy* self, double speedup, std::optional<std::vector<double>> exponents,
             double floor, std::optional<lat::CostModel> cost) {
            new (self) lat::Policy(speedup, exponents.value_or(std::vector<double>{}), floor,
                                   cost.value_or(lat::CostModel{}));
          },
          "speedup"_a = 1.0, "exponents"_a = nb::none(), "floor"_a = 0.0, "cost"_a = nb::none())
      .def_prop_ro("speedup", &lat::Policy::speedup)
      .def_prop_ro("exponents", &lat::Policy::exponents, "Empty: the geometric schedule.")
      .def_prop_ro("floor", &lat::Policy::floor)
      .def_prop_ro("cost", &lat::Policy::cost)
      .def("__eq__", [](const lat::Policy& a, const lat::Policy& b) { return a == b; })
      .def("__repr__", [](const lat::Policy& p) { return "Policy(" + lat::to_string(p) + ")"; });

  nb::class_<lat::TunedPoint>(m, "TunedPoint", "One speedup of lat.json's tuned curve.")
      .def(nb::init<>())
      .def_rw("speedup", &lat::TunedPoint::speedup)
      .def_rw("exponents", &lat::TunedPoint::exponents)
      .def_rw("accuracy", &lat::TunedPoint::accuracy)
      .def_rw("mean_cosine", &lat::TunedPoint::mean_cosine)
      .def_rw("p5_cosine", &lat::TunedPoint::p5_cosine)
      .def_rw("recall_at_10", &lat::TunedPoint::recall_at_10)
      .def_rw("predicted_speedup", &lat::TunedPoint::predicted_speedup)
      .def_rw("measured_speedup", &lat::TunedPoint::measured_speedup)
      .def_rw("reached", &lat::TunedPoint::reached)
      .def_rw("inputs", &lat::TunedPoint::inputs);

  nb::class_<lat::TuningRecord>(m, "TuningRecord", "How lat_tune chose the settings.")
      .def(nb::init<>())
      .def_rw("tuned_on", &lat::TuningRecord::tuned_on)
      .def_rw("budget_points", &lat::TuningRecord::budget_points)
      .def_rw("dense_accuracy", &lat::TuningRecord::dense_accuracy)
      .def_rw("search_seconds", &lat::TuningRecord::search_seconds)
      .def_rw("search_evaluations", &lat::TuningRecord::search_evaluations)
      .def_rw("search_significance", &lat::TuningRecord::search_significance)
      .def_rw("search_seed", &lat::TuningRecord::search_seed)
      .def_rw("schedules", &lat::TuningRecord::schedules);

  nb::class_<lat::Settings>(m, "Settings", "lat.json: the knob, its schedule and the tuned curve.")
      .def(nb::init<>())
      .def_rw("speedup", &lat::Settings::speedup)
      .def_prop_rw(
          "precision",
          [](const lat::Settings& s) -> std::optional<std::string> {
            if (!s.precision) return std::nullopt;
            return std::string(lat::to_string(*s.precision));
          },
          [](lat::Settings& s, std::optional<std::string> name) {
            s.precision = name ? std::optional(precision_of(*name)) : std::nullopt;
          })
      .def_rw("weight_flops", &lat::Settings::weight_flops)
      .def_rw("attention_flops", &lat::Settings::attention_flops)
      .def_rw("input_flops", &lat::Settings::input_flops)
      .def_rw("exponents", &lat::Settings::exponents)
      .def_rw("floor", &lat::Settings::floor)
      .def_rw("curve", &lat::Settings::curve)
      .def_rw("tuning", &lat::Settings::tuning)
      .def(
          "exponents_for",
          [](const lat::Settings& s, double speedup, int layers) {
            return lat::exponents_for(s, speedup, layers);
          },
          "speedup"_a, "layers"_a, "The keep exponents of a speedup under the tuned curve.");
  m.def(
      "read_settings", [](const std::filesystem::path& file) { return lat::read_settings(file); },
      "file"_a, "Reads a lat.json, strictly.");
  m.def(
      "write_settings",
      [](const std::filesystem::path& file, const lat::Settings& settings) {
        lat::write_settings(file, settings);
      },
      "file"_a, "settings"_a, "Writes a lat.json, after the checks read_settings makes.");
  m.def("set_kernel_cache_capacity", &lat::set_kernel_cache_capacity, "kernels"_a,
        "Compiled kernels the process keeps, for all encoders together: each product shape is one. "
        "A server meeting new batch shapes bounds its memory with fewer. lat.Error below 0.");
  m.def("kernel_cache_capacity", &lat::kernel_cache_capacity,
        "Compiled kernels the process keeps (16,384 unless set, or unless "
        "ONEDNN_PRIMITIVE_CACHE_CAPACITY is).");

  nb::class_<lat::Schedule>(m, "Schedule", "Keep counts for one input length.")
      .def_ro("keep", &lat::Schedule::keep, "Rows that leave each layer.")
      .def_ro("ratio", &lat::Schedule::ratio)
      .def_ro("predicted", &lat::Schedule::predicted, "Predicted speedup over the dense model.")
      .def_ro("reached", &lat::Schedule::reached)
      .def("__repr__", [](const lat::Schedule& s) {
        std::string keep;
        for (int k : s.keep) keep += (keep.empty() ? "" : ", ") + std::to_string(k);
        return "Schedule(keep=[" + keep + "], predicted=" + std::to_string(s.predicted) + ")";
      });

  nb::class_<lat::EncoderInfo>(m, "EncoderInfo", "How an encoder behaves.")
      .def_ro("layers", &lat::EncoderInfo::layers)
      .def_ro("hidden", &lat::EncoderInfo::hidden)
      .def_ro("heads", &lat::EncoderInfo::heads)
      .def_ro("intermediate", &lat::EncoderInfo::intermediate)
      .def_ro("max_positions", &lat::EncoderInfo::max_positions)
      .def_ro("model_type", &lat::EncoderInfo::model_type)
      .def_ro("max_length", &lat::EncoderInfo::max_length)
      .def_ro("threads", &lat::EncoderInfo::threads)
      .def_prop_ro(
          "precision",
          [](const lat::EncoderInfo& i) { return std::string(lat::to_string(i.precision)); })
      .def_ro("policy", &lat::EncoderInfo::policy, "The encoder's own policy: the knob in force.")
      .def_ro("curve", &lat::EncoderInfo::curve, "lat.json's tuned curve; empty when not tuned.")
      .def_ro("classifier", &lat::EncoderInfo::classifier)
      .def_ro("labels", &lat::EncoderInfo::labels)
      .def_prop_ro(
          "activation",
          [](const lat::EncoderInfo& i) { return std::string(lat::to_string(i.activation)); },
          "The head's activation: 'softmax', 'sigmoid' or 'identity'.")
      .def_ro("mean_pooling", &lat::EncoderInfo::mean_pooling)
      .def_ro("normalize", &lat::EncoderInfo::normalize)
      .def("__repr__", [](const lat::EncoderInfo& i) {
        return "EncoderInfo(model_type='" + i.model_type + "', layers=" + std::to_string(i.layers) +
               ", hidden=" + std::to_string(i.hidden) + ", threads=" + std::to_string(i.threads) +
               ", speedup=" + std::to_string(i.policy.speedup()) + ", precision='" +
               lat::to_string(i.precision) + "')";
      });

  nb::class_<lat::Encoder>(m, "Encoder",
                           "A BERT-style encoder loaded from a Hugging Face model folder. "
                           "Immutable; safe to call from many threads at once.")
      .def(
          "__init__",
          [](lat::Encoder* self, const std::filesystem::path& path, std::optional<int> threads,
             std::optional<double> speedup, std::optional<std::string> precision,
             std::optional<int> max_length, std::optional<lat::CostModel> cost,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             bool trace) {
            lat::EncoderOptions options{
                .threads = threads,
                .max_length = max_length.value_or(0),
                .speedup = speedup,
                .precision = precision ? std::optional(precision_of(*precision)) : std::nullopt,
                .cost = cost,
                .exponents = std::move(exponents),
                .floor = floor,
                .trace = trace,
            };
            nb::gil_scoped_release release;
            new (self) lat::Encoder(path, options);
          },
          "path"_a, "threads"_a = nb::none(), "speedup"_a = nb::none(), "precision"_a = nb::none(),
          "max_length"_a = nb::none(), "cost"_a = nb::none(), "exponents"_a = nb::none(),
          "floor"_a = nb::none(), "trace"_a = false)
      .def(
          "embed",
          [](const lat::Encoder& e, nb::handle texts, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             std::optional<lat::Policy> policy) {
            const std::vector<std::string> in = texts_of(texts);
            const size_t width = static_cast<size_t>(e.info().hidden);
            std::vector<float> values(in.size() * width);
            {
              nb::gil_scoped_release release;
              const auto out =
                  e.embed(in, call_policy(e, speedup, std::move(exponents), floor, policy));
              for (size_t i = 0; i < out.size(); ++i) {
                std::memcpy(values.data() + i * width, out[i].values.data(), width * sizeof(float));
              }
            }
            return owned_array(std::move(values), {in.size(), width});
          },
          "texts"_a, "speedup"_a = nb::none(), "exponents"_a = nb::none(), "floor"_a = nb::none(),
          "policy"_a = nb::none(),
          "Pooled embeddings of the texts: float32, (len(texts), hidden). speedup, exponents and "
          "floor choose this call's policy as an encoder built with them would have it; policy "
          "gives one whole.")
      .def(
          "classify",
          [](const lat::Encoder& e, nb::handle texts, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             std::optional<lat::Policy> policy) {
            const std::vector<std::string> in = texts_of(texts);
            nb::gil_scoped_release release;
            return e.classify(in, call_policy(e, speedup, std::move(exponents), floor, policy));
          },
          "texts"_a, "speedup"_a = nb::none(), "exponents"_a = nb::none(), "floor"_a = nb::none(),
          "policy"_a = nb::none(),
          "Labels of the texts, by the model folder's classifier head; the policy as in embed.")
      .def(
          "classify_pairs",
          [](const lat::Encoder& e, nb::handle pairs, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             std::optional<lat::Policy> policy) {
            const std::vector<lat::TextPair> in = pairs_of(pairs);
            nb::gil_scoped_release release;
            return e.classify(in, call_policy(e, speedup, std::move(exponents), floor, policy));
          },
          "pairs"_a, "speedup"_a = nb::none(), "exponents"_a = nb::none(), "floor"_a = nb::none(),
          "policy"_a = nb::none(),
          "The classifier head on (first, second) pairs, as a cross-encoder reads them; the "
          "policy as in embed.")
      .def(
          "rerank",
          [](const lat::Encoder& e, nb::handle query, nb::handle documents,
             std::optional<int> top_k, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             std::optional<lat::Policy> policy) {
            const std::string q = text_of(query);
            const std::vector<std::string> docs = texts_of(documents);
            nb::gil_scoped_release release;
            return e.rerank(q, docs, top_k,
                            call_policy(e, speedup, std::move(exponents), floor, policy));
          },
          "query"_a, "documents"_a, "top_k"_a = nb::none(), "speedup"_a = nb::none(),
          "exponents"_a = nb::none(), "floor"_a = nb::none(), "policy"_a = nb::none(),
          "The documents by score against the query, highest first, the best top_k of them; "
          "needs a head of one logit. The policy as in embed.")
      .def(
          "run",
          [](const lat::Encoder& e, const std::vector<lat::Encoding>& inputs,
             std::optional<double> speedup, std::optional<std::vector<double>> exponents,
             std::optional<double> floor, std::optional<lat::Policy> policy) {
            nb::gil_scoped_release release;
            return e.run(inputs, call_policy(e, speedup, std::move(exponents), floor, policy));
          },
          "encodings"_a, "speedup"_a = nb::none(), "exponents"_a = nb::none(),
          "floor"_a = nb::none(), "policy"_a = nb::none(),
          "Hidden states of pre-tokenised inputs; the policy as in embed.")
      .def(
          "policy",
          [](const lat::Encoder& e, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor) {
            nb::gil_scoped_release release;
            return e.policy(speedup, std::move(exponents), floor);
          },
          "speedup"_a = nb::none(), "exponents"_a = nb::none(), "floor"_a = nb::none(),
          "The policy an encoder built on this folder with these values would have (None: this "
          "encoder's); lat.json's tuned curve gives the exponents of a speedup.")
      .def(
          "tokenize",
          [](const lat::Encoder& e, nb::handle text) {
            const std::string in = text_of(text);
            nb::gil_scoped_release release;
            return e.tokenize(in);
          },
          "text"_a)
      .def(
          "tokenize_pair",
          [](const lat::Encoder& e, nb::handle first, nb::handle second) {
            const std::string a = text_of(first), b = text_of(second);
            nb::gil_scoped_release release;
            return e.tokenize_pair(a, b);
          },
          "first"_a, "second"_a)
      .def(
          "token", [](const lat::Encoder& e, std::int32_t id) { return e.tokenizer().token(id); },
          "id"_a, "The word piece of a token id; '' outside the vocabulary.")
      .def(
          "schedule",
          [](const lat::Encoder& e, int tokens, int batch) {
            nb::gil_scoped_release release;
            return e.schedule(tokens, batch);
          },
          "tokens"_a, "batch"_a = 1,
          "The keep counts this encoder uses for an input of that many tokens in a call of "
          "`batch` inputs.")
      .def_prop_ro("info", &lat::Encoder::info, nb::rv_policy::reference_internal)
      .def(
          "calibrate",
          [](const lat::Encoder& e, int tokens) {
            nb::gil_scoped_release release;
            return e.calibrate(tokens);
          },
          "tokens"_a = 128,
          "Measures this machine's cost model for this model and thread count (seconds).");

  nb::class_<lat::ZeroShotClassifier>(
      m, "ZeroShotClassifier",
      "Zero-shot labels for an embedding model: each label described by a sentence.")
      .def(
          "__init__",
          [](lat::ZeroShotClassifier* self, std::shared_ptr<lat::Encoder> encoder,
             nb::handle labels) {
            std::vector<lat::ZeroShotClassifier::Label> list;
            nb::object items =
                nb::hasattr(labels, "items") ? labels.attr("items")() : nb::borrow(labels);
            for (nb::handle item : items) {
              auto pair = nb::cast<std::pair<std::string, std::string>>(item);
              list.push_back({std::move(pair.first), std::move(pair.second)});
            }
            nb::gil_scoped_release release;
            new (self) lat::ZeroShotClassifier(std::move(encoder), std::move(list));
          },
          "encoder"_a, "labels"_a,
          "labels: {name: description}, or (name, description) pairs, in label order.")
      .def(
          "classify",
          [](const lat::ZeroShotClassifier& z, nb::handle texts, std::optional<double> speedup,
             std::optional<std::vector<double>> exponents, std::optional<double> floor,
             std::optional<lat::Policy> policy) {
            const std::vector<std::string> in = texts_of(texts);
            nb::gil_scoped_release release;
            return z.classify(
                in, call_policy(z.encoder(), speedup, std::move(exponents), floor, policy));
          },
          "texts"_a, "speedup"_a = nb::none(), "exponents"_a = nb::none(), "floor"_a = nb::none(),
          "policy"_a = nb::none())
      .def_prop_ro("labels",
                   [](const lat::ZeroShotClassifier& z) {
                     std::vector<std::string> names;
                     for (const auto& l : z.labels()) names.push_back(l.name);
                     return names;
                   })
      .def_prop_ro("descriptions", [](const lat::ZeroShotClassifier& z) {
        std::vector<std::string> out;
        for (const auto& l : z.labels()) out.push_back(l.description);
        return out;
      });
}
