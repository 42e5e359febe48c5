#!/usr/bin/env bash
# Installs what the dashboard's browser test needs, only where it is missing:
# Debian's `chromium` (apt-get) and `playwright-core` (npm, into
# dagger-dashboard/tests/browser/node_modules, which git ignores). Safe to run again.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
browser_dir="$here/dagger-dashboard/tests/browser"

if ! command -v chromium >/dev/null 2>&1; then
    echo "browser-setup: installing Debian chromium" >&2
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "browser-setup: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi

if [ ! -f "$browser_dir/node_modules/playwright-core/package.json" ]; then
    echo "browser-setup: installing playwright-core into $browser_dir" >&2
    # The browser is Debian's: never let playwright download one of its own.
    (cd "$browser_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
echo "browser-setup: chromium $(chromium --version 2>/dev/null | head -1); playwright-core $(node -p "require('$browser_dir/node_modules/playwright-core/package.json').version")" >&2
