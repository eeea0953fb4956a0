#!/bin/sh
# A long fuzz run by hand: every target in tests/fuzz with BASE examples times its weight (pure decoders
# have weight 5-10, socket targets 0.5-1; see fuzzkit.py), fresh random examples, per-test durations and
# Hypothesis statistics. Usage: tests/fuzz/long_run.sh [BASE] [pytest args...]   (BASE defaults to 2000,
# which gives the weight-10 decoders 20,000 examples each; the suite default is 200.)
set -eu
cd "$(dirname "$0")/../.."
BASE="${1:-2000}"
[ "$#" -gt 0 ] && shift
PROCONSUL_FUZZ_EXAMPLES="$BASE" PROCONSUL_FUZZ_RANDOM="${PROCONSUL_FUZZ_RANDOM:-1}" \
    exec .venv/bin/python -m pytest tests/fuzz -q -p no:randomly --durations=0 --hypothesis-show-statistics "$@"
