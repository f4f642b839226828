#!/usr/bin/env bash
# Every test: set up, build, fetch the real models (all-MiniLM-L6-v2, and all-mpnet-base-v2 for the
# 12-layer family tests), run the unit and reference tests (ctest, with
# the kernel tests once for every variant of lat's loops this CPU runs), then the Python package's
# tests (pip install into .venv-test/, pytest tests/python, a Ray example included), the suite under
# AddressSanitizer + UndefinedBehaviorSanitizer, the concurrency tests under ThreadSanitizer, the
# kernel and encoder tests against oneDNN 3.x, and each fuzz target for 60 seconds. --quick stops
# after ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
tools/fetch_model.sh all-mpnet-base-v2
(cd build && ctest --output-on-failure -j"$(nproc)")
[ "${1:-}" = "--quick" ] && exit 0
tools/test_python.sh
tools/test_serve.sh
tools/sanitize.sh
tools/check_onednn3.sh
tools/fuzz.sh 60
