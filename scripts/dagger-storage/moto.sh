#!/usr/bin/env bash
# Starts or stops a moto S3 server on loopback for dagger-storage's S3 tests.
#
#   scripts/dagger-storage/moto.sh start   # installs moto[server] if missing, prints the endpoint
#   scripts/dagger-storage/moto.sh stop
#
# Port: $MOTO_PORT (default 5123). The server's pid and log live in $MOTO_STATE_DIR
# (default ${TMPDIR:-/tmp}/dagger-moto-<port>). Everything but the endpoint goes to stderr,
# so `export DAGGER_TEST_S3_ENDPOINT=$(scripts/dagger-storage/moto.sh start)` works.
set -euo pipefail

port="${MOTO_PORT:-5123}"
state_dir="${MOTO_STATE_DIR:-${TMPDIR:-/tmp}/dagger-moto-$port}"
pidfile="$state_dir/pid"
endpoint="http://127.0.0.1:$port"
python="${PYTHON:-python3}"

answers() {
    # Any HTTP answer means the server is up (moto replies to GET / with a bucket list).
    if command -v curl >/dev/null 2>&1; then
        curl -s -o /dev/null --max-time 2 "$endpoint/"
    else
        "$python" -c "import urllib.request,sys; urllib.request.urlopen('$endpoint/', timeout=2)" 2>/dev/null
    fi
}

running() {
    [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

start() {
    if running && answers; then
        echo "moto already running (pid $(cat "$pidfile"))" >&2
        echo "$endpoint"
        return 0
    fi
    if ! "$python" -c "import moto.server, flask, flask_cors" >/dev/null 2>&1; then
        echo "installing moto[server] with pip" >&2
        "$python" -m pip install --quiet 'moto[server]' >&2
    fi
    mkdir -p "$state_dir"
    # setsid: the server must outlive this script and not get the caller's terminal signals.
    setsid "$python" -m moto.server -H 127.0.0.1 -p "$port" >"$state_dir/log" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    for _ in $(seq 1 150); do
        if answers; then
            echo "moto started on $endpoint (pid $(cat "$pidfile"), log $state_dir/log)" >&2
            echo "$endpoint"
            return 0
        fi
        if ! running; then
            echo "moto exited during start-up; log:" >&2
            cat "$state_dir/log" >&2
            return 1
        fi
        sleep 0.2
    done
    echo "moto did not answer on $endpoint within 30 s; log:" >&2
    cat "$state_dir/log" >&2
    stop
    return 1
}

stop() {
    if [[ -f "$pidfile" ]]; then
        pid="$(cat "$pidfile")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
        echo "moto stopped" >&2
    else
        echo "moto not running" >&2
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
