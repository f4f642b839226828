// The queue and the batcher: every connection's inputs, run one packed batch at a time.
#include "batcher.hpp"

#include <algorithm>
#include <lat/error.hpp>

namespace lat::serve {

namespace {

// What a failed run means for the request: its own input at fault (422), else the encoder (424).
ApiError run_error(const std::exception& e) {
  if (const auto* lat_error = dynamic_cast<const Error*>(&e)) {
    if (lat_error->code() == ErrorCode::kInput) return validation_error(e.what());
  }
  return backend_error(std::string("the encoder failed: ") + e.what());
}

}  // namespace

Batcher::Batcher(const Encoder& encoder, LatencyController& controller, Metrics& metrics,
                 Limits limits, std::function<bool(int)> client_gone)
    : encoder_(encoder),
      controller_(controller),
      metrics_(metrics),
      limits_(limits),
      client_gone_(std::move(client_gone)),
      thread_([this] {
        try {
          controller_.calibrate();
        } catch (...) {
          timed_.set_exception(std::current_exception());
          return;
        }
        timed_.set_value();
        loop();
      }) {
  try {
    timed_.get_future().get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

Batcher::~Batcher() {
  stop(Clock::now());
  thread_.join();
}

void Batcher::run(const std::shared_ptr<Job>& job) {
  if (job->inputs.empty()) return;  // nothing to wait for
  auto answered = job->done.get_future();
  {
    const std::lock_guard lock(mutex_);
    if (stopping_) throw stopping_error();
    job->outputs.resize(job->inputs.size());
    job->remaining = static_cast<int>(job->inputs.size());
    for (std::size_t i = 0; i < job->inputs.size(); ++i) {
      queue_.push_back({job, static_cast<int>(i), static_cast<int>(job->inputs[i].ids.size())});
    }
    controller_.arrived(static_cast<int>(job->inputs.size()), job->arrival);
    metrics_.queued(queue_.size());
  }
  wake_.notify_one();
  answered.wait();
}

double Batcher::arrival_rate() {
  const std::lock_guard lock(mutex_);
  return controller_.arrival_rate(Clock::now());
}

void Batcher::stop(Clock::time_point deadline) {
  {
    const std::lock_guard lock(mutex_);
    if (!stopping_ || deadline < deadline_) deadline_ = deadline;
    stopping_ = true;
  }
  wake_.notify_all();
}

const Policy* Batcher::own_policy(const Job& job) {
  if (job.policy) return &*job.policy;
  if (job.pinned) return &*job.pinned;
  return nullptr;
}

void Batcher::finish(Job& job) {
  if (job.finished) return;
  job.finished = true;
  job.done.set_value();
}

std::optional<Batcher::Batch> Batcher::next_batch() {
  // Drops what cannot run: jobs failed or dropped, and at the stop's deadline everything.
  const bool late = stopping_ && Clock::now() >= deadline_;
  std::deque<Item> rest;
  Batch batch;
  int tokens = 0;
  std::optional<double> speedup;  // the batch's class: a policy's speedup, or none (chosen)
  bool first = true;
  auto cap = [&] { return limits_.max_batch_inputs > 0 ? limits_.max_batch_inputs : 1 << 30; };
  for (std::size_t i = 0; i < queue_.size();) {
    // One request's inputs lie together in the queue.
    std::size_t end = i + 1;
    while (end < queue_.size() && queue_[end].job == queue_[i].job) ++end;
    Job& job = *queue_[i].job;
    if (late && !job.finished) {
      job.error = stopping_error();
      finish(job);
    }
    const Policy* own = own_policy(job);
    const std::optional<double> job_class =
        own ? std::optional<double>(own->speedup()) : std::nullopt;
    if (!job.finished && (first || job_class == speedup) && client_gone_(job.socket)) {
      job.dropped = true;
      metrics_.disconnected();
      finish(job);
    }
    if (job.finished) {
      i = end;
      continue;
    }
    if (first) {
      speedup = job_class;
      first = false;
    }
    int group_tokens = 0;
    for (std::size_t k = i; k < end; ++k) group_tokens += queue_[k].tokens;
    const auto group = static_cast<int>(end - i);
    const auto size = static_cast<int>(batch.items.size());
    if (job_class == speedup && tokens + group_tokens <= limits_.max_batch_tokens &&
        size + group <= cap()) {
      for (std::size_t k = i; k < end; ++k) batch.items.push_back(queue_[k]);
      tokens += group_tokens;
    } else if (job_class == speedup && batch.items.empty()) {
      // A request larger than a batch: as many of its inputs as fit, the rest after.
      std::size_t k = i;
      for (; k < end; ++k) {
        const bool fits = tokens + queue_[k].tokens <= limits_.max_batch_tokens &&
                          static_cast<int>(batch.items.size()) < cap();
        if (!fits && !batch.items.empty()) break;
        batch.items.push_back(queue_[k]);
        tokens += queue_[k].tokens;
      }
      for (; k < end; ++k) rest.push_back(queue_[k]);
    } else {
      for (std::size_t k = i; k < end; ++k) rest.push_back(queue_[k]);
    }
    i = end;
  }
  queue_ = std::move(rest);
  metrics_.queued(queue_.size());
  if (batch.items.empty()) return std::nullopt;

  if (speedup) {
    batch.policy = own_policy(*batch.items.front().job);
  } else {
    std::vector<Pending> running, behind;
    for (const Item& it : batch.items) running.push_back({it.job->arrival, it.tokens, nullptr});
    for (const Item& it : queue_)
      behind.push_back({it.job->arrival, it.tokens, own_policy(*it.job)});
    batch.policy = &controller_.choose(running, behind, Clock::now());
    // A request's later inputs run at the speedup its first ones did: one answer, one speedup.
    for (const Item& it : batch.items) {
      if (!it.job->pinned) it.job->pinned = *batch.policy;
    }
  }
  return batch;
}

void Batcher::loop() {
  for (;;) {
    std::optional<Batch> batch;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and nothing left
      batch = next_batch();
      if (!batch) continue;
    }
    try {
      execute(*batch);
    } catch (const std::exception& e) {
      // Out of memory, say, outside the run: the batch's requests are answered all the same.
      const std::lock_guard lock(mutex_);
      for (const Item& it : batch->items) {
        if (it.job->finished) continue;
        it.job->error = backend_error(std::string("the batch failed: ") + e.what());
        finish(*it.job);
      }
    }
  }
}

void Batcher::execute(const Batch& batch) {
  const Policy& policy = *batch.policy;
  std::vector<Encoding> inputs;
  std::vector<int> tokens;
  std::vector<double> waited;
  const auto start = Clock::now();
  for (const Item& it : batch.items) {
    inputs.push_back(it.job->inputs[static_cast<std::size_t>(it.index)]);
    tokens.push_back(it.tokens);
    waited.push_back(std::chrono::duration<double>(start - it.job->arrival).count());
  }
  const double cost = controller_.cost(policy, tokens);

  // Each input's output, or the error that its run gave.
  std::vector<std::optional<EncoderOutput>> outputs(inputs.size());
  std::vector<std::optional<ApiError>> errors(inputs.size());
  try {
    auto all = encoder_.run(inputs, policy);
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    controller_.observe(cost, seconds);
    int total = 0;
    for (int n : tokens) total += n;
    metrics_.batch(static_cast<int>(inputs.size()), total, policy.speedup(), waited, seconds);
    for (std::size_t k = 0; k < all.size(); ++k) outputs[k] = std::move(all[k]);
  } catch (const std::exception& e) {
    // One bad input must not fail the others: each alone, to find it.
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      try {
        outputs[k] = std::move(encoder_.run(std::span(&inputs[k], 1), policy).front());
      } catch (const std::exception& alone) {
        errors[k] = run_error(alone);
      }
    }
  }

  const std::lock_guard lock(mutex_);
  for (std::size_t k = 0; k < batch.items.size(); ++k) {
    Job& job = *batch.items[k].job;
    if (job.finished) continue;
    if (errors[k]) {
      job.error = *errors[k];
      finish(job);
      continue;
    }
    EncoderOutput& out = *outputs[k];
    if (!job.keep_hidden) {
      out.hidden = {};
      out.positions = {};
    }
    job.outputs[static_cast<std::size_t>(batch.items[k].index)] = std::move(out);
    job.speedup = std::max(job.speedup, policy.speedup());
    if (--job.remaining == 0) finish(job);
  }
}

}  // namespace lat::serve
