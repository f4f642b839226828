#pragma once

#include <omp.h>

#include <exception>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace lat {

// Runs `work` on a thread of its own that ends with it, with the caller's OpenMP thread count;
// returns what `work` returns, or throws what it throws. For parallel work outside an encoder's
// calls, such as loading its weights: a thread that has run a parallel region keeps an OpenMP team
// while it lives, and once the threads of all teams outnumber the CPUs, libgomp's workers spin
// about a hundred turns at a barrier instead of some 300,000 and then sleep, so every call pays a
// sleep and a wake at each barrier. An encoder built on one thread and called on another would
// otherwise run so (600 sleeps a call of 32 sentences at int8, a quarter slower).
template <class Work>
std::invoke_result_t<Work&> on_passing_thread(Work&& work) {
  std::optional<std::invoke_result_t<Work&>> result;
  std::exception_ptr failed;
  const int threads = omp_get_max_threads();
  std::thread([&] {
    omp_set_num_threads(threads);
    try {
      result.emplace(work());
    } catch (...) {
      failed = std::current_exception();
    }
  }).join();
  if (failed) std::rethrow_exception(failed);
  return std::move(*result);
}

// The OpenMP threads of one call into an encoder. For the call's lifetime the calling thread runs
// parallel regions with `threads` threads, and the workers of its team each keep to a CPU of their
// own, away from the caller's: after an idle gap a sleeping worker may otherwise be woken on the
// caller's CPU, and the two then share one core, spinning at every barrier, until the kernel
// moves one of them (milliseconds, so short calls took several times as long). The calling
// thread's own OpenMP setting is restored afterwards; no process-wide setting is changed.
class CallThreads {
 public:
  explicit CallThreads(int threads);
  ~CallThreads();
  CallThreads(const CallThreads&) = delete;
  CallThreads& operator=(const CallThreads&) = delete;

 private:
  int before_;
};

}  // namespace lat
