#!/usr/bin/env bash
# The Python package's tests: pip installs lat (as a user would, from this tree) with pytest,
# numpy, Ray Data and pyarrow into .venv-test/, checks that python/lat/_lat.pyi is what nanobind's
# stubgen makes of the module, then runs tests/python. The classify tests
# compare against the C++ classify program (build/classify, from tools/bootstrap.sh, or
# LAT_CLASSIFY). Every test must run: a missing model, data file or program fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# python3 -m venv needs Debian's python3-venv.
if ! python3 -c "import ensurepip" 2>/dev/null; then
  echo "== installing python3-venv"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq python3-venv >/dev/null
fi

venv=.venv-test
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --upgrade pip
echo "== pip install .[test] (build-pip/)"
"$venv/bin/python" -m pip install -q -Cbuild-dir=build-pip ".[test]"

tools/fetch_model.sh
export LAT_CLASSIFY="${LAT_CLASSIFY:-$PWD/build/classify}"
if [ ! -x "$LAT_CLASSIFY" ]; then
  echo "test_python.sh: $LAT_CLASSIFY is not built (tools/bootstrap.sh builds it)" >&2
  exit 1
fi
echo "== python/lat/_lat.pyi is what nanobind's stubgen makes of the module"
stub=$(mktemp -d)
"$venv/bin/python" -m nanobind.stubgen -q -m lat._lat -o "$stub/_lat.pyi"
if ! diff -u python/lat/_lat.pyi "$stub/_lat.pyi"; then
  echo "test_python.sh: python/lat/_lat.pyi is stale; write it again with" >&2
  echo "  $venv/bin/python -m nanobind.stubgen -m lat._lat -o python/lat/_lat.pyi" >&2
  exit 1
fi
export LAT_TEST_STRICT=1
echo "== pytest tests/python"
"$venv/bin/python" -m pytest -q -rs tests/python "$@"
