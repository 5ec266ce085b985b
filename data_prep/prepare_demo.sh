#!/usr/bin/env bash
# Install, convert and featurize the demo corpus into data/demo (needs root for apt-get).
set -euo pipefail
cd "$(dirname "$0")/.."
vqcodec prepare demo --out "${1:-data/demo}"
