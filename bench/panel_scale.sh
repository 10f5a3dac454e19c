#!/usr/bin/env bash
# Panel scaling benchmark (issue 12): one epoch over a panel of 1,000 series x 1,000 rows versus
# one series of 1,000,000 rows, interleaved, per-window cost and pipeline peak memory.
# Usage: bash bench/panel_scale.sh [ROUNDS]   (default 5; output in bench/out/panel_scale.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
cargo build --release --example panel_scale -p lstmcast
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- crates || echo ' (+ uncommitted changes)') on $(nproc) cores"
  ./target/release/examples/panel_scale "${1:-5}"
} 2>&1 | tee bench/out/panel_scale.txt
