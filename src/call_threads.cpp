#include "call_threads.hpp"

#include <omp.h>
#include <pthread.h>
#include <sched.h>

#include <vector>

namespace lat {
namespace {

// The CPUs this process may run on, in order.
const std::vector<int>& allowed_cpus() {
  static const std::vector<int> cpus = [] {
    std::vector<int> out;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) out.push_back(c);
      }
    }
    return out;
  }();
  return cpus;
}

// Worker t (1..threads-1) keeps to the t-th allowed CPU that is not the caller's. Each worker
// remembers where it was put, so that a call changes nothing unless the caller has moved.
void place_workers(int threads) {
  const auto& cpus = allowed_cpus();
  const int caller = sched_getcpu();
  if (threads < 2 || caller < 0 || static_cast<int>(cpus.size()) < threads) return;
  std::vector<int> others;
  for (int c : cpus) {
    if (c != caller) others.push_back(c);
  }
#pragma omp parallel num_threads(threads)
  {
    thread_local int placed = -1;
    const int t = omp_get_thread_num();
    if (t > 0) {
      const int cpu = others[static_cast<std::size_t>(t - 1) % others.size()];
      if (cpu != placed) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0) placed = cpu;
      }
    }
  }
}

}  // namespace

CallThreads::CallThreads(int threads) : before_(omp_get_max_threads()) {
  omp_set_num_threads(threads);
  place_workers(threads);
}

CallThreads::~CallThreads() { omp_set_num_threads(before_); }

}  // namespace lat
