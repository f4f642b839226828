#!/usr/bin/env bash
# lat-serve's tests: pytest tests/serve in .venv-test/ (tools/test_python.sh makes it; this script
# installs .[test] there when the venv lacks what the tests import), against build/lat-serve (or
# LAT_SERVE). The tests start their own servers on free loopback ports and stop them. Every test
# must run: a missing model, data file or program fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-test
if ! "$venv/bin/python" -c "import lat, openai, huggingface_hub, prometheus_client, jsonschema" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  echo "== pip install .[test] (build-pip/)"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -Cbuild-dir=build-pip ".[test]"
fi

tools/fetch_model.sh
tools/fetch_data.sh
export LAT_SERVE="${LAT_SERVE:-$PWD/build/lat-serve}"
if [ ! -x "$LAT_SERVE" ]; then
  echo "== building lat-serve (build/)"
  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build -j"$(nproc)" --target lat-serve
fi
export LAT_TEST_STRICT=1
echo "== pytest tests/serve"
"$venv/bin/python" -m pytest -q -rs tests/serve "$@"
