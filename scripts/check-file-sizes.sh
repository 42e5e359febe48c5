#!/usr/bin/env bash
# Fails when a Rust file outside the integration-test folders (`*/tests/`) is longer than
# the limit (default 700 lines): a file is one idea, and an idea that needs more is two.
#
#   scripts/check-file-sizes.sh          # every tracked and untracked-but-not-ignored .rs file
#   scripts/check-file-sizes.sh 600      # a stricter limit
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${1:-700}"
over=0
while IFS= read -r f; do
  case "$f" in
    */tests/*|tests/*|target/*|*/target/*) continue ;;
  esac
  [[ -f "$f" ]] || continue
  n=$(wc -l < "$f")
  if (( n > limit )); then
    echo "$f: $n lines (limit $limit)"
    over=$((over + 1))
  fi
done < <(git ls-files --cached --others --exclude-standard -- '*.rs')
if (( over )); then
  echo "$over file(s) over $limit lines: split them along their ideas"
  exit 1
fi
echo "no .rs file over $limit lines"
