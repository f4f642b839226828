#!/usr/bin/env bash
# Unpacks the evaluation data committed under data/ (SST-2 and IMDB, xz-compressed) to
# data/sst2/*.tsv and data/imdb/*.tsv (ignored by git) and checks each file's SHA-256.
# Safe to run again: a file already there with the right digest is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
files=(
  "sst2/train.tsv 4c5e12ec5fabed1f7aa8b4fde0f0257412d76ab9c4314bb1eec46ba80c7a4438"
  "sst2/dev.tsv   db8f4a5951968681dadc4c6ddaf53e8ba31a1436574072c3fa6273a5d333b35a"
  "imdb/train.tsv e9f936235d279c802f191f6fba03f9745936653c682063ad10404dd20c3bc60d"
  "imdb/test.tsv  67dcb4b19b9d4e7679534e94c76ea186b590ac375908bd0a08021847b1c2d889"
)
command -v xz >/dev/null || { echo "fetch_data.sh: xz is missing (Debian: xz-utils)" >&2; exit 1; }
for entry in "${files[@]}"; do
  read -r name sha256 <<<"$entry"
  dest=data/$name
  if [ -f "$dest" ] && echo "$sha256  $dest" | sha256sum -c --status; then
    continue
  fi
  echo "== unpacking $dest"
  xz -dc "$dest.xz" >"$dest.tmp"
  if ! echo "$sha256  $dest.tmp" | sha256sum -c --status; then
    rm -f "$dest.tmp"
    echo "fetch_data.sh: $dest.xz does not unpack to the expected file (SHA-256 $sha256)" >&2
    exit 1
  fi
  mv "$dest.tmp" "$dest"
done
