// The routes: JSON in, lat's encoder through the batcher, JSON out.
#include "routes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <lat/error.hpp>
#include <limits>
#include <numeric>
#include <sstream>

#include "api_error.hpp"

namespace lat::serve {

namespace {

using json = nlohmann::json;
// Answers print their numbers as float32, shortest first (as TEI does); requests are read as
// double, so that a speedup is what it says.
using Out = Api::Out;

std::string dump(const Out& j) {
  // Replaces what is not UTF-8 (a decoded byte-level token) rather than failing on it.
  return j.dump(-1, ' ', false, Out::error_handler_t::replace);
}

Reply json_reply(const Out& j, std::optional<double> speedup = std::nullopt) {
  return {200, dump(j), "application/json", speedup};
}

Reply error_reply(const ApiError& e) {
  return {e.status(), dump(Out{{"error", e.what()}, {"error_type", e.type()}}), "application/json",
          std::nullopt};
}

const json* field(const json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() ? nullptr : &*it;
}

const json& required(const json& body, const char* name) {
  const json* v = field(body, name);
  if (!v) throw validation_error(std::string("missing field `") + name + "`");
  return *v;
}

// A boolean field; absent or null: the default.
bool boolean(const json& body, const char* name, bool fallback) {
  const json* v = field(body, name);
  if (!v || v->is_null()) return fallback;
  if (!v->is_boolean()) throw validation_error(std::string("`") + name + "` must be a boolean");
  return v->get<bool>();
}

const std::string& text_of(const json& v, const char* name) {
  if (!v.is_string()) throw validation_error(std::string("`") + name + "` must be a string");
  return v.get_ref<const std::string&>();
}

bool all_integers(const json& array) {
  return std::all_of(array.begin(), array.end(),
                     [](const json& v) { return v.is_number_integer(); });
}

std::vector<std::int32_t> ids_of(const json& array, const char* name) {
  std::vector<std::int32_t> ids;
  for (const json& v : array) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 0 ||
        v.get<std::int64_t>() > std::numeric_limits<std::int32_t>::max()) {
      throw validation_error(std::string("`") + name + "` must hold token ids (integers >= 0)");
    }
    ids.push_back(static_cast<std::int32_t>(v.get<std::int64_t>()));
  }
  return ids;
}

std::optional<int> dimensions_of(const json& body, int hidden) {
  const json* v = field(body, "dimensions");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_number_integer()) throw validation_error("`dimensions` must be an integer");
  const auto d = v->get<std::int64_t>();
  if (d < 1 || d > hidden) {
    throw validation_error("`dimensions` " + std::to_string(d) + " is outside [1, " +
                           std::to_string(hidden) + "]");
  }
  return static_cast<int>(d);
}

// TEI's prompts and left truncation are not lat's: refused, not ignored.
void refuse_unsupported(const json& body) {
  const json* prompt = field(body, "prompt_name");
  if (prompt && !prompt->is_null()) {
    throw validation_error("`prompt_name` is not supported: lat-serve applies no prompts");
  }
  const json* direction = field(body, "truncation_direction");
  if (direction && !direction->is_null() &&
      !(direction->is_string() && (*direction == "right" || *direction == "Right"))) {
    throw validation_error("`truncation_direction` must be \"right\": lat truncates the end");
  }
}

void normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  const auto norm = static_cast<float>(std::sqrt(sum));
  if (norm > 0) {
    for (float& x : v) x /= norm;
  }
}

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    ab += double{a[j]} * b[j];
    aa += double{a[j]} * a[j];
    bb += double{b[j]} * b[j];
  }
  return ab / std::max(std::sqrt(aa * bb), 1e-12);
}

std::string base64(const std::vector<float>& values) {
  static const char* const kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> bytes(values.size() * 4);
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::uint32_t u = 0;
    std::memcpy(&u, &values[i], 4);
    for (int k = 0; k < 4; ++k) bytes[i * 4 + k] = static_cast<unsigned char>(u >> (8 * k));
  }
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t chunk = 0;
    for (std::size_t k = 0; k < 3; ++k) chunk = chunk << 8 | (k < n ? bytes[i + k] : 0u);
    for (std::size_t k = 0; k < 4; ++k) out += k <= n ? kDigits[(chunk >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

const char* dtype(Precision p) {
  switch (p) {
    case Precision::kBf16:
      return "bfloat16";
    case Precision::kInt8:
    case Precision::kInt8Static:
      return "int8";
    case Precision::kFp32:
      break;
  }
  return "float32";
}

Out kept_of(const std::vector<EncoderOutput>& outputs) {
  Out kept = Out::array();
  for (const auto& o : outputs) kept.push_back(o.run.kept);
  return kept;
}

// Keeps a slot of --max-concurrent-requests for the life of a request, or refuses it at once.
class Slot {
 public:
  Slot(std::atomic<int>& held, int limit, Metrics& metrics) : held_(held), metrics_(metrics) {
    if (held_.fetch_add(1) >= limit) {
      held_.fetch_sub(1);
      throw overloaded_error();
    }
    metrics_.in_flight(held_.load());
  }
  ~Slot() { metrics_.in_flight(held_.fetch_sub(1) - 1); }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  std::atomic<int>& held_;
  Metrics& metrics_;
};

std::string show(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// A reply onto the wire: status, body and the speedup that served it.
void send(httplib::Response& res, const Reply& reply) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type);
  if (reply.speedup) res.set_header("X-Lat-Speedup", show(*reply.speedup));
}

}  // namespace

Api::Api(const Encoder& encoder, Batcher& batcher, LatencyController& controller, Metrics& metrics,
         ApiOptions options)
    : encoder_(encoder),
      info_(encoder.info()),
      batcher_(batcher),
      controller_(controller),
      metrics_(metrics),
      options_(std::move(options)) {
  modules_json_ = std::filesystem::exists(options_.folder / "modules.json");
  specials_ = static_cast<int>(encoder.tokenize("").ids.size());
  const Tokenizer& t = encoder.tokenizer();
  pair_specials_ = static_cast<int>(encoder.tokenize_pair("a", "b").ids.size() -
                                    t.token_ids("a").size() - t.token_ids("b").size());
  auto post = [this](std::string path, Reply (Api::*handle)(const Body&), bool runs) {
    routes_.push_back({std::move(path), "POST",
                       [this, handle](const Body& b) { return (this->*handle)(b); }, runs});
  };
  post("/", &Api::root, true);
  post("/embed", &Api::embed, true);
  post("/predict", &Api::predict, true);
  post("/rerank", &Api::rerank, true);
  post("/similarity", &Api::similarity, true);
  post("/v1/embeddings", &Api::openai_embeddings, true);
  post("/tokenize", &Api::tokenize, false);
  post("/decode", &Api::decode, false);
  routes_.push_back({"/health", "GET", [](const Body&) {
                       return Reply{200, "", "text/plain", std::nullopt};
                     }});
  routes_.push_back({"/info", "GET", [this](const Body&) { return info(); }});
  routes_.push_back({"/metrics", "GET", [this](const Body&) {
                       return Reply{200, metrics_.render(batcher_.arrival_rate()),
                                    "text/plain; version=0.0.4", std::nullopt};
                     }});
}

const Api::Route* Api::find(const std::string& path) const {
  for (const Route& r : routes_) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

// ---- the HTTP side ----

void Api::install(HttpServer& server) {
  server.set_payload_max_length(options_.payload_limit);
  server.set_tcp_nodelay(true);

  // Route, method and key, before the body is read.
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    const Route* route = find(req.path);
    std::optional<ApiError> refused;
    const bool get = req.method == "GET" || req.method == "HEAD";
    if (!route) {
      refused = ApiError(404, "not_found", "no route " + req.path);
    } else if ((route->method == "GET") != get || (!get && req.method != "POST")) {
      refused = ApiError(405, "method_not_allowed",
                         req.method + " is not allowed on " + req.path + ": " + route->method);
      res.set_header("Allow", route->method);
    } else if (options_.api_key && route->path != "/health" &&
               req.get_header_value("Authorization") != "Bearer " + *options_.api_key) {
      refused = ApiError(401, "unauthorized", "missing or wrong `Authorization: Bearer` key");
    }
    if (!refused) return httplib::Server::HandlerResponse::Unhandled;
    const Reply reply = error_reply(*refused);
    res.status = reply.status;
    res.set_content(reply.body, reply.content_type);
    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
      HttpServer::close_after_response();  // its body is still unread
      res.set_header("Connection", "close");
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  for (const Route& route : routes_) {
    const Route* r = &route;
    if (route.method == "GET") {
      server.Get(route.path, [this, r](const httplib::Request&, httplib::Response& res) {
        send(res, answer(*r, ""));
      });
      continue;
    }
    auto respond = [this, r](httplib::Response& res, const httplib::ContentReader* reader) {
      std::string body;
      Reply reply;
      bool too_large = false;
      const bool read = !reader || (*reader)([&](const char* data, std::size_t n) {
        if (body.size() + n > options_.payload_limit) {
          too_large = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
      if (!read) {
        HttpServer::close_after_response();
        res.set_header("Connection", "close");
        reply = error_reply(too_large || res.status == 413
                                ? ApiError(413, "payload_too_large",
                                           "the body is over the payload limit of " +
                                               std::to_string(options_.payload_limit) + " bytes")
                                : ApiError(400, "validation", "the body could not be read"));
      } else {
        reply = answer(*r, body);
      }
      send(res, reply);
    };
    server.Post(route.path, [respond](const httplib::Request&, httplib::Response& res) {
      respond(res, nullptr);
    });
    server.Post(route.path,
                [respond](const httplib::Request&, httplib::Response& res,
                          const httplib::ContentReader& reader) { respond(res, &reader); });
  }

  // The errors the HTTP layer answers itself (a bad request line, a body over the limit): TEI's
  // JSON too.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        const ApiError e =
            res.status == 413
                ? ApiError(413, "payload_too_large", "the body is over the limit")
                : ApiError(res.status, "validation",
                           "a malformed request (HTTP " + std::to_string(res.status) + ")");
        const Reply reply = error_reply(e);
        res.set_content(reply.body, reply.content_type);
        return httplib::Server::HandlerResponse::Handled;
      }));

  // Every answer: counted, and with the speedup in use where no batch served it.
  server.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.has_header("X-Lat-Speedup")) res.set_header("X-Lat-Speedup", show(metrics_.speedup()));
    const Route* route = find(req.path);
    const double seconds =
        std::chrono::duration<double>(Clock::now() - HttpServer::request_start()).count();
    metrics_.answered(route ? route->path : "other", res.status, seconds);
  });
}

Reply Api::answer(const Route& route, const std::string& text) {
  try {
    std::optional<Slot> slot;
    if (route.runs) slot.emplace(in_flight_, options_.max_concurrent_requests, metrics_);
    Body body;
    if (route.method == "POST") {
      try {
        body = Body::parse(text);
      } catch (const json::exception& e) {
        throw validation_error(std::string("the body is not JSON: ") + e.what());
      }
      if (!body.is_object()) throw validation_error("the body must be a JSON object");
    }
    return route.handle(body);
  } catch (const ApiError& e) {
    return error_reply(e);
  } catch (const std::exception& e) {
    return error_reply(ApiError(500, "internal", e.what()));
  }
}

// ---- parsing ----

void Api::check_batch_size(std::size_t size) const {
  if (size > static_cast<std::size_t>(options_.max_client_batch_size)) {
    throw validation_error("batch size " + std::to_string(size) + " > maximum allowed batch size " +
                           std::to_string(options_.max_client_batch_size));
  }
}

// TEI's inputs: a text, token ids, or a list of texts and token ids.
std::vector<Api::Input> Api::embed_inputs(const Body& value, const char* name) const {
  const std::string quoted = std::string("`") + name + "`";
  std::vector<Input> inputs;
  auto text = [&](const std::string& t) {
    if (t.empty()) throw empty_error(quoted + " cannot be empty");
    Input in;
    in.text = t;
    return in;
  };
  auto ids = [&](const json& array) {
    if (array.empty()) throw empty_error(quoted + " cannot be empty");
    Input in;
    in.ids = ids_of(array, name);
    in.is_ids = true;
    return in;
  };
  if (value.is_string()) {
    inputs.push_back(text(value.get_ref<const std::string&>()));
  } else if (value.is_array()) {
    if (value.empty()) throw empty_error(quoted + " cannot be empty");
    if (all_integers(value)) {
      inputs.push_back(ids(value));
    } else {
      check_batch_size(value.size());
      for (const json& v : value) {
        if (v.is_string()) {
          inputs.push_back(text(v.get_ref<const std::string&>()));
        } else if (v.is_array() && all_integers(v)) {
          inputs.push_back(ids(v));
        } else {
          throw validation_error(quoted + " must be a string, token ids, or a list of them");
        }
      }
    }
  } else {
    throw validation_error(quoted + " must be a string, token ids, or a list of them");
  }
  return inputs;
}

Encoding Api::encode(const Input& input, bool truncate) const {
  const int max = info_.max_length;
  if (input.is_ids) {
    // Token ids are encoded as given: no special tokens are added.
    const auto vocab = encoder_.tokenizer().vocab_size();
    for (std::int32_t id : input.ids) {
      if (id >= vocab) {
        throw validation_error("token id " + std::to_string(id) + " is outside the vocabulary (" +
                               std::to_string(vocab) + " tokens)");
      }
    }
    Encoding e;
    e.ids = input.ids;
    if (static_cast<int>(e.ids.size()) > max) {
      if (!truncate) {
        throw validation_error("`inputs` must have less than " + std::to_string(max) +
                               " tokens. Given: " + std::to_string(e.ids.size()));
      }
      e.ids.resize(static_cast<std::size_t>(max));
      e.truncated = true;
    }
    return e;
  }
  Encoding e;
  try {
    e = input.pair ? encoder_.tokenize_pair(input.text, input.second)
                   : encoder_.tokenize(input.text);
  } catch (const Error& error) {
    throw tokenizer_error(error.what());
  }
  if (e.truncated && !truncate) {
    const Tokenizer& t = encoder_.tokenizer();
    std::size_t given = t.token_ids(input.text).size();
    given += input.pair
                 ? t.token_ids(input.second).size() + static_cast<std::size_t>(pair_specials_)
                 : static_cast<std::size_t>(specials_);
    throw validation_error("`inputs` must have less than " + std::to_string(max) +
                           " tokens. Given: " + std::to_string(given));
  }
  return e;
}

std::optional<Policy> Api::speedup_of(const Body& body) const {
  const json* v = field(body, "speedup");
  if (!v) return std::nullopt;
  if (!v->is_number()) throw validation_error("`speedup` must be a number");
  return controller_.requested(v->get<double>());
}

bool Api::truncate_of(const Body& body) const {
  return boolean(body, "truncate", options_.auto_truncate);
}

std::shared_ptr<Job> Api::run(std::vector<Encoding> inputs, std::optional<Policy> policy,
                              bool keep_hidden) const {
  auto job = std::make_shared<Job>();
  job->arrival = HttpServer::request_start();
  job->inputs = std::move(inputs);
  job->policy = std::move(policy);
  job->socket = HttpServer::current_socket();
  job->keep_hidden = keep_hidden;
  batcher_.run(job);
  if (!job->dropped && client_gone(job->socket)) {
    job->dropped = true;
    metrics_.disconnected();
  }
  if (job->dropped) throw ApiError(499, "client_closed", "the client closed its connection");
  if (job->error) throw *job->error;
  return job;
}

bool Api::has_pooling() const { return modules_json_ || !info_.classifier; }

void Api::require_pooling() const {
  if (!has_pooling()) {
    throw backend_error(
        "this model folder has a classifier head and no pooling (modules.json): it serves "
        "/predict, not embeddings");
  }
}

// The embedding as asked: the folder's pooling, L2-normalised or not, cut to `dimensions` (then
// normalised again, Matryoshka-style, as TEI and OpenAI do).
std::vector<float> Api::embedding(const EncoderOutput& out, bool normalized,
                                  std::optional<int> dimensions) const {
  std::vector<float> v;
  if (normalized == info_.normalize) {
    v = out.embedding;
  } else if (normalized) {
    v = out.embedding;
    normalize(v);
  } else {
    // The folder normalises inside lat: pool its last rows again, as lat does (src/tasks.cpp),
    // without the normalisation.
    const auto d = static_cast<std::size_t>(info_.hidden);
    const std::size_t rows = out.hidden.size() / d;
    v.assign(d, 0.f);
    if (info_.mean_pooling) {
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t j = 0; j < d; ++j) v[j] += out.hidden[r * d + j];
      }
      for (float& x : v) x /= static_cast<float>(rows);
    } else {
      std::copy_n(out.hidden.begin(), d, v.begin());
    }
  }
  if (dimensions) {
    v.resize(static_cast<std::size_t>(*dimensions));
    if (normalized) normalize(v);
  }
  return v;
}

namespace {

// TEI's activation, whatever the folder says: the sigmoid of one logit, else softmax.
HeadActivation tei_activation(std::size_t logits) {
  return logits == 1 ? HeadActivation::kSigmoid : HeadActivation::kSoftmax;
}

}  // namespace

// [{score, label}] by score, highest first: the logits through TEI's activation, or, with raw
// scores, the logits.
Out Api::scores(const EncoderOutput& out, bool raw) const {
  const std::vector<float> s =
      raw ? out.logits : activate(tei_activation(out.logits.size()), out.logits);
  std::vector<std::size_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s[a] > s[b]; });
  Out list = Out::array();
  for (std::size_t i : order) list.push_back({{"score", s[i]}, {"label", info_.labels[i]}});
  return list;
}

// ---- the routes ----

Reply Api::root(const Body& body) {
  if (is_reranker()) return rerank(body);
  if (info_.classifier) return predict(body);
  return embed(body);
}

Reply Api::embed(const Body& body) {
  require_pooling();
  refuse_unsupported(body);
  const auto inputs = embed_inputs(required(body, "inputs"), "inputs");
  const bool truncate = truncate_of(body);
  const bool normalized = boolean(body, "normalize", true);
  const auto dimensions = dimensions_of(body, info_.hidden);
  const bool return_kept = boolean(body, "return_kept", false);
  auto policy = speedup_of(body);
  std::vector<Encoding> encodings;
  for (const Input& in : inputs) encodings.push_back(encode(in, truncate));
  const auto job = run(std::move(encodings), std::move(policy), !normalized && info_.normalize);
  Out embeddings = Out::array();
  for (const auto& out : job->outputs) embeddings.push_back(embedding(out, normalized, dimensions));
  if (return_kept) {
    return json_reply({{"embeddings", std::move(embeddings)}, {"kept", kept_of(job->outputs)}},
                      job->speedup);
  }
  return json_reply(embeddings, job->speedup);
}

Reply Api::predict(const Body& body) {
  if (!info_.classifier) {
    throw backend_error("this model folder has no classifier head: /predict needs one");
  }
  refuse_unsupported(body);
  const json& value = required(body, "inputs");
  const char* grammar =
      "`inputs` must be a string, a pair [string, string], or a batch [[string], [string, "
      "string], ...]";
  // TEI's grammar: "a" and ["a"] one text, ["a", "b"] one pair, [["a"], ["a", "b"]] a batch.
  auto sequence = [&](const json& v) {
    Input in;
    if (v.is_string()) {
      in.text = v.get<std::string>();
    } else if (v.is_array() && (v.size() == 1 || v.size() == 2) &&
               std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_string(); })) {
      in.text = v[0].get<std::string>();
      if (v.size() == 2) {
        in.second = v[1].get<std::string>();
        in.pair = true;
      }
    } else {
      throw validation_error(grammar);
    }
    if (in.text.empty() && in.second.empty()) throw empty_error("`inputs` cannot be empty");
    return in;
  };
  std::vector<Input> inputs;
  bool batch = false;
  if (value.is_array() && !value.empty() && value[0].is_array()) {
    batch = true;
    check_batch_size(value.size());
    for (const json& v : value) {
      if (!v.is_array()) throw validation_error(grammar);
      inputs.push_back(sequence(v));
    }
  } else {
    if (value.is_array() && value.empty()) throw empty_error("`inputs` cannot be empty");
    inputs.push_back(sequence(value));
  }
  const bool truncate = truncate_of(body);
  const bool raw = boolean(body, "raw_scores", false);
  const bool return_kept = boolean(body, "return_kept", false);
  auto policy = speedup_of(body);
  std::vector<Encoding> encodings;
  for (const Input& in : inputs) encodings.push_back(encode(in, truncate));
  const auto job = run(std::move(encodings), std::move(policy), false);
  Out predictions = Out::array();
  for (const auto& out : job->outputs) predictions.push_back(scores(out, raw));
  if (!batch) predictions = predictions[0];
  if (return_kept) {
    return json_reply({{"predictions", std::move(predictions)}, {"kept", kept_of(job->outputs)}},
                      job->speedup);
  }
  return json_reply(predictions, job->speedup);
}

Reply Api::rerank(const Body& body) {
  if (!is_reranker()) {
    throw backend_error(
        "this model is not a re-ranker: /rerank needs a cross-encoder (a classifier head with one "
        "label)");
  }
  refuse_unsupported(body);
  const std::string& query = text_of(required(body, "query"), "query");
  const json& texts = required(body, "texts");
  if (!texts.is_array()) throw validation_error("`texts` must be a list of strings");
  if (texts.empty()) throw empty_error("`texts` cannot be empty");
  check_batch_size(texts.size());
  const bool truncate = truncate_of(body);
  const bool raw = boolean(body, "raw_scores", false);
  const bool return_text = boolean(body, "return_text", false);
  auto policy = speedup_of(body);
  std::vector<Encoding> encodings;
  for (const json& t : texts) {
    Input in;
    in.text = query;
    in.second = text_of(t, "texts");
    in.pair = true;
    if (in.text.empty() && in.second.empty()) throw empty_error("`texts` cannot be empty");
    encodings.push_back(encode(in, truncate));
  }
  const auto job = run(std::move(encodings), std::move(policy), false);
  std::vector<float> score;
  for (const auto& out : job->outputs) {
    score.push_back(raw ? out.logits.at(0) : activate(HeadActivation::kSigmoid, out.logits).at(0));
  }
  std::vector<std::size_t> order(score.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] > score[b]; });
  Out ranks = Out::array();
  for (std::size_t i : order) {
    Out rank{{"index", i}, {"score", score[i]}};
    if (return_text) rank["text"] = texts[i].get<std::string>();
    ranks.push_back(std::move(rank));
  }
  return json_reply(ranks, job->speedup);
}

Reply Api::similarity(const Body& body) {
  require_pooling();
  const json& inputs = required(body, "inputs");
  if (!inputs.is_object()) {
    throw validation_error("`inputs` must be {\"source_sentence\": ..., \"sentences\": [...]}");
  }
  const std::string& source = text_of(required(inputs, "source_sentence"), "source_sentence");
  const json& sentences = required(inputs, "sentences");
  if (!sentences.is_array()) throw validation_error("`sentences` must be a list of strings");
  if (sentences.empty()) throw empty_error("`inputs.sentences` cannot be empty");
  check_batch_size(sentences.size());
  const json* parameters = field(body, "parameters");
  const json& options = parameters && parameters->is_object() ? *parameters : body;
  refuse_unsupported(options);
  const bool truncate = truncate_of(options);
  auto policy = speedup_of(body);
  std::vector<Encoding> encodings;
  auto add = [&](const std::string& text) {
    if (text.empty()) throw empty_error("`inputs` cannot be empty");
    Input in;
    in.text = text;
    encodings.push_back(encode(in, truncate));
  };
  add(source);
  for (const json& s : sentences) add(text_of(s, "sentences"));
  const auto job = run(std::move(encodings), std::move(policy), false);
  Out out = Out::array();
  for (std::size_t i = 1; i < job->outputs.size(); ++i)
    out.push_back(static_cast<float>(cosine(job->outputs[0].embedding, job->outputs[i].embedding)));
  return json_reply(out, job->speedup);
}

Reply Api::openai_embeddings(const Body& body) {
  require_pooling();
  const auto inputs = embed_inputs(required(body, "input"), "input");
  const json* model = field(body, "model");
  if (model && !model->is_null() && !model->is_string()) {
    throw validation_error("`model` must be a string");
  }
  const json* format = field(body, "encoding_format");
  bool as_base64 = false;
  if (format && !format->is_null()) {
    if (*format == "base64") {
      as_base64 = true;
    } else if (*format != "float") {
      throw validation_error("`encoding_format` must be \"float\" or \"base64\"");
    }
  }
  const auto dimensions = dimensions_of(body, info_.hidden);
  auto policy = speedup_of(body);
  std::vector<Encoding> encodings;
  long tokens = 0;
  for (const Input& in : inputs) {
    encodings.push_back(encode(in, options_.auto_truncate));
    tokens += static_cast<long>(encodings.back().ids.size());
  }
  const auto job = run(std::move(encodings), std::move(policy), false);
  Out data = Out::array();
  for (std::size_t i = 0; i < job->outputs.size(); ++i) {
    const auto v = embedding(job->outputs[i], true, dimensions);
    data.push_back({{"object", "embedding"},
                    {"embedding", as_base64 ? Out(base64(v)) : Out(v)},
                    {"index", i}});
  }
  return json_reply(
      {{"object", "list"},
       {"data", std::move(data)},
       {"model", model && model->is_string() ? model->get<std::string>() : options_.model_id},
       {"usage", {{"prompt_tokens", tokens}, {"total_tokens", tokens}}}},
      job->speedup);
}

// Each text's tokens as TEI gives them: a special token by its name, without offsets; any other
// by the bytes of the text it came from.
Reply Api::tokenize(const Body& body) {
  refuse_unsupported(body);
  const json& value = required(body, "inputs");
  std::vector<std::string> texts;
  if (value.is_string()) {
    texts.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    if (value.empty()) throw empty_error("`inputs` cannot be empty");
    check_batch_size(value.size());
    for (const json& v : value) texts.push_back(text_of(v, "inputs"));
  } else {
    throw validation_error("`inputs` must be a string or a list of strings");
  }
  const bool add_special = boolean(body, "add_special_tokens", true);
  const Tokenizer& tokenizer = encoder_.tokenizer();
  Out out = Out::array();
  for (const std::string& text : texts) {
    if (text.empty()) throw empty_error("`inputs` cannot be empty");
    Encoding e;
    try {
      e = tokenizer.encode(text, std::numeric_limits<int>::max() / 2);  // not truncated
    } catch (const Error& error) {
      throw tokenizer_error(error.what());
    }
    Out tokens = Out::array();
    for (std::size_t k = 0; k < e.ids.size(); ++k) {
      const std::int32_t id = e.ids[k];
      const Offset at = k < e.offsets.size() ? e.offsets[k] : Offset{};
      const bool from_text = !(at == Offset{});
      // Byte offsets may fall inside a character (RoBERTa's trimmed offsets after a space of
      // several bytes, as the reference gives them); the text shown widens to whole characters.
      auto continuation = [&](std::size_t i) {
        return i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
      };
      auto start = std::min(static_cast<std::size_t>(at.start), text.size());
      auto stop = std::min(static_cast<std::size_t>(std::max(at.start, at.stop)), text.size());
      while (start > 0 && continuation(start)) --start;
      while (continuation(stop)) ++stop;
      const std::string piece = from_text ? text.substr(start, stop - start) : std::string();
      // Special: the post-processor's tokens, and a special token written in the text; not the
      // model's [UNK] for what it does not know.
      const bool special = tokenizer.is_special(id) && (!from_text || piece == tokenizer.token(id));
      if (special && !from_text && !add_special) continue;
      if (special) {
        tokens.push_back({{"id", id},
                          {"text", tokenizer.token(id)},
                          {"special", true},
                          {"start", nullptr},
                          {"stop", nullptr}});
      } else {
        tokens.push_back({{"id", id},
                          {"text", piece},
                          {"special", false},
                          {"start", at.start},
                          {"stop", at.stop}});
      }
    }
    out.push_back(std::move(tokens));
  }
  return json_reply(out);
}

// Token ids back to text, with the folder's decoder: a list of texts, one per list of ids.
Reply Api::decode(const Body& body) {
  const json& value = required(body, "ids");
  const char* grammar = "`ids` must be token ids or a list of them";
  std::vector<std::vector<std::int32_t>> lists;
  if (!value.is_array()) throw validation_error(grammar);
  if (value.empty()) throw empty_error("`ids` cannot be empty");
  if (value[0].is_array()) {
    check_batch_size(value.size());
    for (const json& v : value) {
      if (!v.is_array()) throw validation_error(grammar);
      if (v.empty()) throw empty_error("`ids` cannot be empty");
      lists.push_back(ids_of(v, "ids"));
    }
  } else {
    lists.push_back(ids_of(value, "ids"));
  }
  const bool skip = boolean(body, "skip_special_tokens", true);
  Out out = Out::array();
  for (const auto& ids : lists) {
    try {
      out.push_back(encoder_.tokenizer().decode(ids, skip));
    } catch (const Error& error) {
      throw tokenizer_error(error.what());
    }
  }
  return json_reply(out);
}

Reply Api::info() const {
  Out labels_by_id = Out::object(), ids_by_label = Out::object();
  for (std::size_t i = 0; i < info_.labels.size(); ++i) {
    labels_by_id[std::to_string(i)] = info_.labels[i];
    ids_by_label[info_.labels[i]] = i;
  }
  Out model_type;
  const Out head{{"id2label", labels_by_id}, {"label2id", ids_by_label}};
  if (is_reranker()) {
    model_type = {{"reranker", head}};
  } else if (info_.classifier) {
    model_type = {{"classifier", head}};
  } else {
    model_type = {{"embedding", {{"pooling", info_.mean_pooling ? "mean" : "cls"}}}};
  }
  Out curve = Out::array();
  for (const TunedPoint& p : info_.curve) {
    Out point{{"speedup", p.speedup},
              {"exponents", p.exponents},
              {"predicted_speedup", p.predicted_speedup},
              {"measured_speedup", p.measured_speedup}};
    if (p.accuracy) point["accuracy"] = *p.accuracy;
    if (p.recall_at_10) point["recall_at_10"] = *p.recall_at_10;
    if (p.mean_cosine) point["mean_cosine"] = *p.mean_cosine;
    curve.push_back(std::move(point));
  }
  Out choices = Out::array();
  for (const Policy& p : controller_.choices()) choices.push_back(p.speedup());
  const auto target = controller_.target_ms();
  Out j{
      {"model_id", options_.model_id},
      {"model_sha", nullptr},
      {"model_dtype", dtype(info_.precision)},
      {"model_type", model_type},
      {"max_concurrent_requests", options_.max_concurrent_requests},
      {"max_input_length", info_.max_length},
      {"max_batch_tokens", options_.max_batch_tokens},
      {"max_batch_requests",
       options_.max_batch_requests > 0 ? Out(options_.max_batch_requests) : Out(nullptr)},
      {"max_client_batch_size", options_.max_client_batch_size},
      {"auto_truncate", options_.auto_truncate},
      {"tokenization_workers", options_.connection_threads},
      {"version", LAT_VERSION},
      {"sha", nullptr},
      {"docker_label", nullptr},
      // lat's own:
      {"family", info_.model_type},
      {"lat",
       {{"precision", to_string(info_.precision)},
        {"threads", info_.threads},
        {"normalize", info_.normalize},
        {"knob", controller_.knob().speedup()},
        {"policy", to_string(controller_.knob())},
        {"max_speedup", controller_.ceiling()},
        {"max_speedup_from", controller_.ceiling_source()},
        {"latency_target_ms", target ? Out(*target) : Out(nullptr)},
        {"speedups", choices},
        {"curve", curve},
        {"payload_limit", options_.payload_limit}}},
  };
  return json_reply(j);
}

}  // namespace lat::serve
