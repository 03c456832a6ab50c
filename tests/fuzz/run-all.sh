#!/bin/sh
# Runs every fuzz target of a fuzzer build for SECONDS each, one at a time,
# from the committed minimised corpus (tests/fuzz/corpus/NAME) and a seed
# corpus made from the golden files and fixtures. New inputs go to
# BUILD_DIR/fuzz-corpus; tests/fuzz/minimise.sh folds them back.
#   usage: tests/fuzz/run-all.sh [SECONDS=60] [BUILD_DIR=build-fuzz]
# Crashes are left in BUILD_DIR/fuzz-artifacts/; the exit status is non-zero
# if any target failed.
set -eu
seconds=${1:-60}
build=${2:-build-fuzz}
src=$(cd "$(dirname "$0")/../.." && pwd)
corpus="$build/fuzz-corpus"
seeds="$build/fuzz-seeds"
artifacts="$build/fuzz-artifacts"
mkdir -p "$corpus" "$artifacts"
rm -rf "$seeds"
python3 "$src/tests/fuzz/make-seeds.py" "$src/tests/data" "$seeds"

status=0
for exe in "$build"/tests/fuzz/fuzz-*; do
  [ -x "$exe" ] && [ -f "$exe" ] || continue
  name=${exe##*/fuzz-}
  mkdir -p "$corpus/$name" "$seeds/$name" "$src/tests/fuzz/corpus/$name"
  echo "== fuzz-$name for ${seconds}s"
  # a target may have a dictionary of its format's tokens: NAME.dict
  dict=
  [ -f "$src/tests/fuzz/$name.dict" ] && dict="-dict=$src/tests/fuzz/$name.dict"
  # shellcheck disable=SC2086
  if ! "$exe" $dict -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$artifacts/$name-" \
       "$corpus/$name" "$src/tests/fuzz/corpus/$name" "$seeds/$name" \
       2>"$build/fuzz-$name.log"; then
    echo "fuzz-$name FAILED, see $build/fuzz-$name.log"
    status=1
  fi
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/fuzz-$name.log" || true
done
exit $status
