#!/usr/bin/env bash
# Every test: set up, build, fetch the real model, run ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
cd build
ctest --output-on-failure -j"$(nproc)"
