#!/usr/bin/env bash
# Builds lat against oneDNN 3.x (Intel's wheels on PyPI: onednn-devel-cpu-gomp, the GNU OpenMP
# build) in build-onednn3/ and runs the kernel, encoder, pruning and precision tests on it: lat's
# oneDNN wrapper (src/kernels/onednn.cpp) must build and agree with both APIs. Run after
# tools/bootstrap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
version=2023.2.0  # oneDNN 3.2
prefix=.cache/onednn-$version
if [ ! -f "$prefix/lib/cmake/dnnl/dnnl-config.cmake" ]; then
  echo "== fetching oneDNN 3 (PyPI: onednn-devel-cpu-gomp==$version)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download --quiet --no-deps --dest "$tmp" \
    "onednn-cpu-gomp==$version" "onednn-devel-cpu-gomp==$version"
  for wheel in "$tmp"/*.whl; do unzip -q -o "$wheel" -d "$tmp/unpacked"; done
  mkdir -p "$prefix"
  for data in "$tmp"/unpacked/*.data/data; do cp -r "$data"/. "$prefix"/; done
fi
echo "== building against oneDNN $(grep -E 'define DNNL_VERSION_(MAJOR|MINOR) ' \
  "$prefix/include/oneapi/dnnl/dnnl_version.h" | awk '{print $3}' | paste -sd.) (build-onednn3/)"
cmake -S . -B build-onednn3 -DCMAKE_BUILD_TYPE=Release -Ddnnl_DIR="$PWD/$prefix/lib/cmake/dnnl" \
  -DLAT_BUILD_BENCHMARKS=OFF -DLAT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-onednn3 -j"$(nproc)" --target lat_tests
(cd build-onednn3 && ctest --output-on-failure -j"$(nproc)" \
  -R 'Loops|Kernels|Dispatch|Encoder|Pruning|Precision|kernels_')
