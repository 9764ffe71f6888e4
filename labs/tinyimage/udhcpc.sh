#!/bin/sh
# /etc/udhcpc.script of the PocketStack tiny test image: busybox udhcpc runs
# it at each DHCP event of one interface ($1 = deconfig, bound, renew,
# leasefail or nak; the lease in the environment: $interface, $ip, $mask (the
# prefix length), $subnet, $router, $dns, $domain, $staticroutes).
#
# It configures the interface as Debian's /etc/udhcpc/default.script does
# (address, default route through the first router, resolv.conf) plus the
# classless static routes (option 121), which that script ignores: init asks
# for them with `-O staticroutes`, and they carry the metadata address's
# route on a network without a router.
#
# What the tests read is one console line per change:
#     POCKETSTACK-NET: <interface> <mac> <ip>/<prefix length>
#     POCKETSTACK-NET: <interface> <mac> none      (no lease yet: retrying)
# Renewing the same address prints nothing.

export PATH=/bin:/sbin
STATE=/tmp/net/$interface.lease
CONSOLE=/dev/console

mac() {
    cat "/sys/class/net/$interface/address" 2>/dev/null
}

say() {
    # Print a state once: the same line twice in a row stays quiet.
    if [ "$(cat "$STATE" 2>/dev/null)" != "$1" ]; then
        echo "$1" > "$STATE"
        echo "POCKETSTACK-NET: $interface $(mac) $1" > "$CONSOLE"
    fi
}

prefix_length() {
    # $mask is the prefix length in busybox >= 1.20; count the bits of
    # $subnet if it is missing.
    if [ -n "$mask" ]; then
        echo "$mask"
        return
    fi
    bits=0
    for octet in $(echo "${subnet:-255.255.255.0}" | tr . ' '); do
        while [ "$octet" -gt 0 ]; do
            bits=$((bits + (octet & 1)))
            octet=$((octet >> 1))
        done
    done
    echo "$bits"
}

metric() {
    # eth0 -> 0, eth1 -> 1 ...: each NIC may have a default route, the first
    # NIC's wins.
    number=${interface#eth}
    case "$number" in
        ''|*[!0-9]*) echo 100 ;;
        *) echo "$number" ;;
    esac
}

static_routes() {
    # $staticroutes: "10.1.0.0/16 10.0.0.254 169.254.169.254/32 10.0.0.2 ..."
    set -- $staticroutes
    while [ $# -ge 2 ]; do
        if [ "$2" = "0.0.0.0" ]; then
            ip route replace "$1" dev "$interface"
        else
            ip route replace "$1" via "$2" dev "$interface"
        fi
        shift 2
    done
}

resolv_conf() {
    # The first NIC owns resolv.conf; another one writes it only if nobody did.
    [ -n "$dns" ] || return 0
    if [ "$interface" = eth0 ] || [ ! -s /etc/resolv.conf ]; then
        {
            [ -n "$domain" ] && echo "search $domain"
            for server in $dns; do
                echo "nameserver $server"
            done
        } > /etc/resolv.conf
    fi
}

configure() {
    length=$(prefix_length)
    if ! ip -4 addr show dev "$interface" | grep -q " $ip/$length "; then
        ip addr flush dev "$interface"
        ip addr add "$ip/$length" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    fi
    ip link set "$interface" up
    if [ -n "$router" ]; then
        set -- $router
        ip route replace default via "$1" dev "$interface" metric "$(metric)"
    fi
    [ -n "$staticroutes" ] && static_routes
    resolv_conf
    say "$ip/$length"
}

mkdir -p /tmp/net
case "$1" in
    deconfig)
        # At start, and when a lease is lost: no address until the next one.
        ip addr flush dev "$interface" 2>/dev/null
        ip link set "$interface" up 2>/dev/null
        rm -f "$STATE"
        ;;
    bound|renew)
        configure
        ;;
    leasefail)
        # No lease (yet): say so once; udhcpc keeps trying.
        say none
        ;;
esac
exit 0
