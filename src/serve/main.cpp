// lat-serve: an HTTP server for a lat encoder, compatible with text-embeddings-inference and
// OpenAI's embeddings, that batches every connection's requests and can hold a latency target by
// choosing the speedup of each batch (docs/serve.md).
//
//   lat-serve --model DIR [--host 127.0.0.1] [--port 3000] [--threads N] [--precision P]
//             [--max-batch-tokens 16384] [--max-batch-requests N] [--max-concurrent-requests 512]
//             [--max-client-batch-size 32] [--payload-limit 2000000] [--auto-truncate]
//             [--latency-target MS] [--max-speedup S] [--api-key KEY] ...
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <lat/encoder.hpp>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "batcher.hpp"
#include "flags.hpp"
#include "http.hpp"
#include "latency.hpp"
#include "metrics.hpp"
#include "precision_flag.hpp"
#include "routes.hpp"

namespace {

using lat::cli::Flag;

const lat::cli::Flags& flags() {
  static const lat::cli::Flags table(
      "lat-serve",
      "serve a lat model over HTTP: text-embeddings-inference's routes and OpenAI's embeddings",
      {Flag::text("--model", "DIR", "the model folder").required(),
       Flag::text("--host", "ADDRESS", "the address to listen on", "127.0.0.1"),
       Flag::integer("--port", "N", "the port; 0: a free one (the ready line names it)", "3000")
           .at_least(0)
           .at_most(65535),
       Flag::integer("--threads", "N", "the encoder's threads, which every batch uses")
           .at_least(1)
           .shows("every core"),
       lat::cli::precision_flag("").shows("lat.json's, else fp32"),
       Flag::integer("--max-length", "N", "tokens per input, specials included")
           .at_least(0)
           .shows("the model folder's"),
       Flag::integer("--max-batch-tokens", "N", "tokens per batch", "16384").at_least(1),
       Flag::integer("--kernel-cache", "N",
                     "compiled kernels kept: each batch's row count is one; fewer bound the "
                     "resident memory",
                     "256")
           .at_least(0),
       Flag::integer("--max-batch-requests", "N", "inputs per batch").at_least(1).shows("no limit"),
       Flag::integer("--max-concurrent-requests", "N",
                     "requests held at once; over it a request gets 429 at once", "512")
           .at_least(1),
       Flag::integer("--max-client-batch-size", "N", "inputs per request", "32").at_least(1),
       Flag::integer("--payload-limit", "BYTES", "the largest request body", "2000000").at_least(1),
       Flag::on_off("--auto-truncate",
                    "cut over-long inputs where a request does not say `truncate`"),
       Flag::number("--latency-target", "MS",
                    "the 95th-percentile time from arrival to answer to hold, by choosing each "
                    "batch's speedup")
           .at_least(1)
           .shows("none: every batch runs at the folder's knob"),
       Flag::number("--max-speedup", "S", "the largest speedup a batch or a request may use")
           .at_least(1)
           .shows("lat.json's accuracy budget where it has a tuned curve, else 3"),
       Flag::text("--api-key", "KEY",
                  "require `Authorization: Bearer KEY` on every route but /health"),
       Flag::integer("--grace", "SECONDS",
                     "on SIGTERM or SIGINT, how long requests in flight have to be answered", "10")
           .at_least(0),
       Flag::integer("--read-timeout", "SECONDS",
                     "how long a client has to send a whole request once it begins", "10")
           .at_least(1)});
  return table;
}

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

int serve(const lat::cli::Args& args) {
  using namespace lat::serve;
  lat::EncoderOptions options;
  if (args.has("--threads")) options.threads = args.integer("--threads");
  if (args.has("--precision"))
    options.precision = lat::cli::precision_from_flag(args.text("--precision"));
  if (args.has("--max-length")) options.max_length = args.integer("--max-length");
  const std::string folder = args.text("--model");
  // A server meets a new product shape with almost every batch: the library's cache, sized for
  // inputs of every length, would let resident memory grow by hundreds of MiB.
  lat::set_kernel_cache_capacity(args.integer("--kernel-cache"));
  const lat::Encoder encoder(folder, options);

  LatencyController::Options knob;
  if (args.has("--latency-target")) knob.target_ms = args.number("--latency-target");
  if (args.has("--max-speedup")) knob.max_speedup = args.number("--max-speedup");
  knob.max_batch_tokens = args.integer("--max-batch-tokens");
  LatencyController controller(encoder, folder, knob);

  Metrics metrics;
  metrics.set_speedup(controller.knob().speedup());
  Batcher::Limits limits;
  limits.max_batch_tokens = args.integer("--max-batch-tokens");
  if (args.has("--max-batch-requests"))
    limits.max_batch_inputs = args.integer("--max-batch-requests");
  Batcher batcher(encoder, controller, metrics, limits, client_gone);

  ApiOptions api_options;
  api_options.model_id = folder;
  api_options.folder = folder;
  api_options.max_concurrent_requests = args.integer("--max-concurrent-requests");
  api_options.max_client_batch_size = args.integer("--max-client-batch-size");
  api_options.payload_limit = args.integer<std::size_t>("--payload-limit");
  api_options.auto_truncate = args.on("--auto-truncate");
  if (args.has("--api-key")) api_options.api_key = args.text("--api-key");
  api_options.max_batch_tokens = limits.max_batch_tokens;
  api_options.max_batch_requests = limits.max_batch_inputs;
  // A thread per connection: enough for every request held, and for those refused with 429.
  ConnectionLimits connections;
  connections.read_seconds = args.integer("--read-timeout");
  connections.threads = static_cast<std::size_t>(api_options.max_concurrent_requests) + 128;
  api_options.connection_threads = connections.threads;
  Api api(encoder, batcher, controller, metrics, api_options);
  HttpServer server(connections);
  api.install(server);

  const std::string host = args.text("--host");
  const int port = server.bind(host, args.integer("--port"));
  if (port < 0) {
    std::cerr << "lat-serve: cannot listen on " << host << ':' << args.integer("--port") << '\n';
    return 1;
  }

  const auto grace = std::chrono::seconds(args.integer("--grace"));
  std::thread([&batcher, &server, grace] {
    const sigset_t set = stop_signals();
    int signal = 0;
    sigwait(&set, &signal);
    std::cerr << "lat-serve: " << (signal == SIGINT ? "SIGINT" : "SIGTERM")
              << ": no new connections; answering those in flight for up to " << grace.count()
              << " s\n";
    const auto deadline = Clock::now() + grace;
    batcher.stop(deadline);
    server.stop();
    // A batch or a write that outlives the grace period does not hold the exit.
    std::this_thread::sleep_until(deadline + std::chrono::seconds(5));
    std::cerr << "lat-serve: grace period over\n";
    std::_Exit(0);
  }).detach();

  const lat::EncoderInfo& info = encoder.info();
  std::cerr << "lat-serve: " << folder << " (" << info.model_type << ", "
            << lat::to_string(info.precision) << ", " << info.threads << " threads), speedup "
            << controller.knob().speedup();
  if (controller.target_ms()) {
    std::cerr << ", latency target " << *controller.target_ms() << " ms over speedups";
    for (const auto& p : controller.choices()) std::cerr << ' ' << p.speedup();
  }
  std::cerr << '\n';
  std::cout << "lat-serve listening on http://" << host << ':' << port << std::endl;
  server.listen_after_bind();
  std::cerr << "lat-serve: stopped\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const lat::cli::Args args = flags().parse(argc, argv);
  // Signals are taken by one thread (sigwait): blocked here, before any thread starts, so that
  // every thread inherits the mask.
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return serve(args);
  } catch (const std::exception& e) {
    std::cerr << "lat-serve: " << e.what() << '\n';
    return 1;
  }
}
