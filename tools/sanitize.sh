#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/), a short
# load against lat-serve built there, and the concurrency tests under ThreadSanitizer
# (build-tsan/). Run after tools/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAT_SANITIZE=address,undefined \
  -DLAT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j"$jobs"
# oneDNN's JIT allocations are outside ASan's view; leaks are checked for lat's own code.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j"$jobs" -E install_and_consume)

# lat-serve under the same sanitizers: 20 s of mixed load on 127.0.0.1 (every route, bad inputs,
# clients that leave before their answer, 429s), then SIGTERM; any sanitizer report fails.
echo "== AddressSanitizer + UndefinedBehaviorSanitizer: lat-serve under load"
cmake --build build-asan -j"$jobs" --target lat-serve
tools/fetch_model.sh
python3 tests/serve/asan_load.py --server build-asan/lat-serve --model models/all-MiniLM-L6-v2 --seconds 20

# Application threads share encoders, one OpenMP thread each: libgomp is not instrumented, so its
# own barriers would look like races to ThreadSanitizer.
echo "== ThreadSanitizer: concurrent callers"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLAT_SANITIZE=thread \
  -DLAT_BUILD_BENCHMARKS=OFF -DLAT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target lat_tests
OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  build-tsan/tests/lat_tests --gtest_filter='Concurrency.*'
