#pragma once

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <lat/encoder.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "batcher.hpp"
#include "http.hpp"
#include "latency.hpp"
#include "metrics.hpp"

namespace lat::serve {

struct ApiOptions {
  std::string model_id;  // the folder as given
  std::filesystem::path folder;
  int max_concurrent_requests = 512;
  int max_client_batch_size = 32;
  std::size_t payload_limit = 2000000;
  bool auto_truncate = false;
  std::optional<std::string> api_key;
  int max_batch_tokens = 16384;
  int max_batch_requests = 0;  // 0: none
  std::size_t connection_threads = 0;
};

// An answer: status, body, and the speedup that served it, when the encoder ran.
struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::optional<double> speedup;
};

// The routes (docs/serve.md): text-embeddings-inference's and OpenAI's, as JSON in and out, with
// TEI's errors. Requests are parsed and tokenized on their connection's thread, then wait for the
// batcher.
class Api {
 public:
  using Out = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                   std::uint64_t, float>;
  Api(const Encoder& encoder, Batcher& batcher, LatencyController& controller, Metrics& metrics,
      ApiOptions options);

  // Registers every route on the server, with the checks every request passes first (route,
  // method, key) and the JSON of the errors the HTTP layer gives (400, 413, ...).
  void install(HttpServer& server);

 private:
  using Body = nlohmann::json;
  struct Route {
    std::string path;
    std::string method;  // GET or POST
    std::function<Reply(const Body&)> handle;
    bool runs = false;  // holds a slot of --max-concurrent-requests
  };
  // An input to encode: a text, a text pair, or token ids as given.
  struct Input {
    std::string text, second;
    bool pair = false;
    std::vector<std::int32_t> ids;
    bool is_ids = false;
  };

  Reply embed(const Body& body);
  Reply predict(const Body& body);
  Reply rerank(const Body& body);
  Reply similarity(const Body& body);
  Reply tokenize(const Body& body);
  Reply decode(const Body& body);
  Reply openai_embeddings(const Body& body);
  Reply root(const Body& body);  // POST /: the folder's own task, as TEI has it
  Reply info() const;

  // The route's answer to a body, its errors included.
  Reply answer(const Route& route, const std::string& body);
  const Route* find(const std::string& path) const;

  // Parsing, with TEI's messages.
  std::vector<Input> embed_inputs(const Body& value, const char* name) const;
  void check_batch_size(std::size_t size) const;
  Encoding encode(const Input& input, bool truncate) const;
  std::optional<Policy> speedup_of(const Body& body) const;
  bool truncate_of(const Body& body) const;

  // Runs the inputs as one request; throws its error.
  std::shared_ptr<Job> run(std::vector<Encoding> inputs, std::optional<Policy> policy,
                           bool keep_hidden) const;
  std::vector<float> embedding(const EncoderOutput& out, bool normalize,
                               std::optional<int> dimensions) const;
  Out scores(const EncoderOutput& out, bool raw) const;

  // What the folder serves.
  bool has_pooling() const;  // sentence-transformers' modules.json, or no head at all
  bool is_reranker() const { return info_.classifier && info_.labels.size() == 1; }
  void require_pooling() const;

  const Encoder& encoder_;
  const EncoderInfo& info_;
  Batcher& batcher_;
  LatencyController& controller_;
  Metrics& metrics_;
  ApiOptions options_;
  bool modules_json_ = false;
  int specials_ = 0, pair_specials_ = 0;  // special tokens an input, a pair, gains
  std::vector<Route> routes_;
  std::atomic<int> in_flight_{0};
};

}  // namespace lat::serve
