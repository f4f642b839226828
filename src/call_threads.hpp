#pragma once

namespace lat {

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
