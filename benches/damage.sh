#!/usr/bin/env bash
# The long damage campaign: FLIPS single-byte flips (default 300 per store, 600 in all) in sled's files and the
# record file of a store killed under load and of a cleanly closed one, each followed by verify, repair and verify.
# Prints the outcome figures. Stores whose verify stalled are kept in $DAMAGE_KEEP (if set) for a stack sample.
# Not part of CI: it takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export DAMAGE_FLIPS="${FLIPS:-300}"
cargo test --release --test it damage::one_flipped_byte -- --nocapture 2>&1 | grep -E "^(damage|test )"
