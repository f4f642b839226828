#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <lat/encoder.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "api_error.hpp"
#include "latency.hpp"
#include "metrics.hpp"

namespace lat::serve {

// One request's inputs, tokenized, and once the batcher is done with them, their answer.
struct Job {
  Clock::time_point arrival = Clock::now();
  std::vector<Encoding> inputs;
  std::optional<Policy> policy;  // the request's own speedup; else the batcher chooses
  int socket = -1;               // the client's connection: a job whose client is gone is dropped
  bool keep_hidden = false;      // outputs keep their rows (pooling without normalisation)

  // The answer: outputs in input order, or an error, or dropped.
  std::vector<EncoderOutput> outputs;
  double speedup = 0;  // the speedup that served it (the largest, were there several)
  std::optional<ApiError> error;
  bool dropped = false;

  // The batcher's own.
  int remaining = 0;
  std::optional<Policy> pinned;  // the policy its first batch chose, for the rest of its inputs
  bool finished = false;
  std::promise<void> done;
};

// The one queue of all connections' inputs and the thread that runs them (docs/serve.md,
// "Batching"): batches of whole requests where they fit, in arrival order, within the token and
// input limits, every input of a batch under one policy; one batch at a time, with all of the
// encoder's threads.
//
// Its thread makes every call into the encoder, the controller's timing at the start included. A
// thread that has run the encoder keeps an OpenMP team while it lives, and once the threads of all
// teams outnumber the CPUs, libgomp's workers stop spinning at barriers and sleep at each one.
class Batcher {
 public:
  struct Limits {
    int max_batch_tokens = 16384;
    int max_batch_inputs = 0;  // 0: no limit
  };
  // `client_gone(socket)` tells whether a job's client has left. Returns once the batcher's thread
  // has timed the encoder for `controller` (LatencyController::calibrate), and throws what that
  // threw.
  Batcher(const Encoder& encoder, LatencyController& controller, Metrics& metrics, Limits limits,
          std::function<bool(int)> client_gone);
  ~Batcher();
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Queues the job's inputs and waits until it is answered, failed or dropped. Throws ApiError
  // (503) once the server is stopping.
  void run(const std::shared_ptr<Job>& job);

  // Takes no more jobs; runs what is queued until `deadline` and fails the rest (503). The
  // destructor waits for the batcher's thread.
  void stop(Clock::time_point deadline);

  // Inputs arriving per second, averaged over about the last second (what a latency target keeps
  // pace with).
  double arrival_rate();

 private:
  struct Item {
    std::shared_ptr<Job> job;
    int index = 0;
    int tokens = 0;
  };
  struct Batch {
    std::vector<Item> items;
    const Policy* policy = nullptr;
  };

  void loop();
  std::optional<Batch> next_batch();  // under mutex_; nothing when stopped
  void execute(const Batch& batch);
  void finish(Job& job);
  static const Policy* own_policy(const Job& job);

  const Encoder& encoder_;
  LatencyController& controller_;
  Metrics& metrics_;
  Limits limits_;
  std::function<bool(int)> client_gone_;

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  Clock::time_point deadline_;
  std::promise<void> timed_;  // the controller's timing, done on thread_
  std::thread thread_;
};

}  // namespace lat::serve
