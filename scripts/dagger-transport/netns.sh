#!/usr/bin/env bash
# Two network namespaces for testing dagger-rs across "machines" without leaving this one.
#
#   netns.sh up     create dgr-a (10.231.0.1/24) and dgr-b (10.231.0.2/24), linked by a
#                   veth pair dgr-va <-> dgr-vb; each namespace also gets its loopback up
#   netns.sh down   delete both namespaces (which deletes the veth pair); idempotent
#   netns.sh status print what exists
#
# The addresses exist only inside the two namespaces: the host's own namespace gets no
# route to them, so no traffic leaves the machine. Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN).
# `up` first tears down leftovers from an earlier run, so it is safe to repeat.
set -euo pipefail

A=dgr-a
B=dgr-b
VA=dgr-va
VB=dgr-vb
ADDR_A=10.231.0.1/24
ADDR_B=10.231.0.2/24

down() {
    for ns in "$A" "$B"; do
        if ip netns list | grep -qw "$ns"; then
            ip netns delete "$ns"
        fi
    done
    # A veth end left in the host namespace by a half-finished `up`.
    if ip link show "$VA" >/dev/null 2>&1; then
        ip link delete "$VA"
    fi
}

up() {
    down
    # Undo a half-built set-up if any step fails.
    trap 'down; exit 1' ERR
    ip netns add "$A"
    ip netns add "$B"
    ip link add "$VA" type veth peer name "$VB"
    ip link set "$VA" netns "$A"
    ip link set "$VB" netns "$B"
    ip -n "$A" addr add "$ADDR_A" dev "$VA"
    ip -n "$B" addr add "$ADDR_B" dev "$VB"
    for ns in "$A" "$B"; do
        ip -n "$ns" link set lo up
    done
    ip -n "$A" link set "$VA" up
    ip -n "$B" link set "$VB" up
    trap - ERR
}

status() {
    for ns in "$A" "$B"; do
        if ip netns list | grep -qw "$ns"; then
            echo "$ns:"
            ip -n "$ns" -brief addr show
        else
            echo "$ns: absent"
        fi
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    status) status ;;
    *)
        echo "usage: $0 up|down|status" >&2
        exit 2
        ;;
esac
