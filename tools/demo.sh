#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, fetch all-MiniLM-L6-v2, and classify the
# example texts by sentiment, zero-shot (the label whose description a text is closest to).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/bootstrap.sh
echo "== classifying examples/texts/sentiment.txt"
build/classify --model models/all-MiniLM-L6-v2 \
  --label "negative=The movie was terrible and boring." \
  --label "positive=The movie was great and enjoyable." \
  --input examples/texts/sentiment.txt "$@"
