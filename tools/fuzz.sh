#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/) and runs each for SECONDS (default 60),
# starting from the committed seed corpora in fuzz/corpus. New inputs go to build-fuzz/corpus.
#   tools/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_safetensors fuzz_config fuzz_vocab fuzz_tokenize fuzz_folder fuzz_tokenizer_json)

# oneDNN from Debian runs on GNU OpenMP: clang is told to use the same runtime.
gomp=$(g++ -print-file-name=libgomp.so)
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DLAT_FUZZ=ON -DLAT_SANITIZE=address,undefined -DLAT_BUILD_TESTS=OFF \
  -DLAT_BUILD_BENCHMARKS=OFF -DLAT_BUILD_EXAMPLES=OFF -DBUILD_SHARED_LIBS=OFF \
  -DOpenMP_CXX_FLAGS=-fopenmp=libgomp -DOpenMP_CXX_LIB_NAMES=gomp -DOpenMP_gomp_LIBRARY="$gomp" \
  >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"

for t in "${targets[@]}"; do
  echo "== $t for ${seconds}s"
  mkdir -p "build-fuzz/corpus/$t"
  status=0
  ASAN_OPTIONS=detect_leaks=1 "build-fuzz/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -rss_limit_mb=4096 -max_len=65536 -artifact_prefix="build-fuzz/$t-" \
    "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+.(DONE|INITED)|stat::number_of_executed_units|stat::average_exec_per_sec|Done)" \
    "build-fuzz/$t.log" || true
  if [ "$status" -ne 0 ]; then
    tail -40 "build-fuzz/$t.log"
    echo "$t failed (exit $status); the input is in build-fuzz/$t-*"
    exit 1
  fi
done
