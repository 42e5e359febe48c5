#!/usr/bin/env bash
# Checks that the `dagger` facade builds with no optional features, with each feature alone,
# and with all of them: a feature that only compiles next to another one shows up here.
#
#   scripts/feature-matrix.sh                 # cargo check of the library, every feature alone, none and all
#   scripts/feature-matrix.sh --all-targets   # extra arguments go to every `cargo check`
#
# Exits non-zero, naming the combination, as soon as one fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# The facade's optional features (dagger/Cargo.toml `[features]`, less `default`). `sparse`
# and `object-store` are left out of the one-at-a-time checks: each only names another
# (`array`, `disk`) and no code is compiled on either, so their checks were those of
# `array` and `disk` again. The all-features check still has them. A feature that gains a
# `cfg` of its own goes back in the list.
features=(profile disk tcp shard array linalg stream dashboard)
all=(profile disk tcp shard array sparse linalg stream object-store dashboard)

combos=("" "${features[@]}" "$(IFS=,; echo "${all[*]}")")
for combo in "${combos[@]}"; do
  label="${combo:-(none)}"
  t0=$SECONDS
  if ! cargo check --quiet -p dagger --no-default-features ${combo:+--features "$combo"} "$@"; then
    echo "feature matrix: dagger fails to build with features: ${label}" >&2
    exit 1
  fi
  # The time says which combination compiled something of its own (CI's time budget).
  echo "== dagger --no-default-features --features ${label}: $(( SECONDS - t0 )) s" >&2
done
echo "feature matrix: all ${#combos[@]} combinations build" >&2
