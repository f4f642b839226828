#!/usr/bin/env bash
# Starts the peer, Infinity (infinity-emb from PyPI, in .venv-infinity/), on a local model folder, on
# 127.0.0.1, with the given engine and dtype and THREADS threads (torch's and ONNX Runtime's pools
# through OMP_NUM_THREADS / MKL_NUM_THREADS), offline. Ctrl-C or SIGTERM stops it.
#   benchmarks/serve/infinity_peer.sh install                      # the venv: pip install "infinity-emb[all]"
#   benchmarks/serve/infinity_peer.sh MODEL_DIR PORT ENGINE DTYPE  # ENGINE torch|optimum, DTYPE float32|int8
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=.venv-infinity
if [ "${1:-}" = install ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q "infinity-emb[all]"
  exit 0
fi
model=$(realpath "$1") port=$2 engine=${3:-torch} dtype=${4:-float32}
threads=${THREADS:-2}
export OMP_NUM_THREADS=$threads MKL_NUM_THREADS=$threads HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
export INFINITY_ANONYMOUS_USAGE_STATS=0 DO_NOT_TRACK=1
infinity=$PWD/$venv/bin/infinity_emb
model_id=$model
if [ "$engine" = optimum ]; then
  # Infinity names the .onnx file by the path it globbed under the folder, and optimum looks for that
  # name relative to the folder: the two agree when the folder is the working directory.
  cd "$model"
  model_id=.
fi
exec "$infinity" v2 --model-id "$model_id" --served-model-name "$(basename "$model")" \
  --engine "$engine" --device cpu --dtype "$dtype" --host 127.0.0.1 --port "$port" \
  --log-level warning ${INFINITY_ARGS:-}
