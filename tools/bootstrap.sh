#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks, builds lat, fetches the default model and unpacks the
# evaluation data (data/).
# Safe to run again: each step skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake unzip xz-utils python3 python3-pip clang libclang-rt-14-dev
          libdnnl-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev libeigen3-dev libicu-dev
          libcpp-httplib-dev pkgconf)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "== installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== building (build/)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)"

tools/fetch_model.sh
tools/fetch_data.sh
