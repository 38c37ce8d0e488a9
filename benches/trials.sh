#!/usr/bin/env bash
# Long fault trials of the release binary (issue 13 §6), not part of CI: builds the `trials` bench target (and the
# release `planledger` it drives) and runs it. Prints a summary; exits non-zero when anything was lost, changed or
# unverifiable, a restart failed, a retry appended twice, an import was partial, or the soak broke its bounds.
#   benches/trials.sh kill9 --trials 1000 [--writers 16] [--seed S]   # SIGKILL trials under HTTP writes and import
#   benches/trials.sh soak --minutes 30 [--rate 200] [--readers 4]     # one server; RSS and open fd bounds
# Run it under `nice -n 10` on a shared machine. Options: benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench --quiet --bench trials -- "$@"
