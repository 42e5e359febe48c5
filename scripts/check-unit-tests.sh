#!/usr/bin/env bash
# Fails when a crate whose library says `test = false` (no unit-test binary: its tests live
# in its tests/main) still has `#[cfg(test)]` code in src/: that code would be neither
# compiled nor run by CI, which builds `--bins --tests` (cargo then skips those libraries).
#
#   scripts/check-unit-tests.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bad=0
for toml in */Cargo.toml; do
  crate="${toml%/Cargo.toml}"
  # `test = false` inside the [lib] table.
  if awk '/^\[/{lib=($0=="[lib]")} lib && /^test *= *false/{f=1} END{exit !f}' "$toml"; then
    if hits=$(grep -rln '#\[cfg(test)\]' "$crate/src" 2>/dev/null); then
      echo "$crate has [lib] test = false but unit tests in: $hits"
      bad=1
    fi
  fi
done
if (( bad )); then
  echo "move those tests to the crate's tests/main, or drop test = false"
  exit 1
fi
echo "no unit tests hidden behind a lib's test = false"
