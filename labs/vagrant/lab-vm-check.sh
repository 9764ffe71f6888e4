#!/bin/sh
# `make lab-vm-check`: prove the Vagrant lab VM by bringing it up for real.
#
#   lab-vm-check.sh CACHE_DIR
#
# 1. packages   vagrant, vagrant-libvirt, mmdebstrap, apt-cacher-ng... (Debian)
# 2. box        a Debian 12 box built by build-box.sh, kept in CACHE_DIR/box
# 3. network    a network namespace for the lab VM, a libvirtd of its own
#               running inside it, and the package proxy: apt-cacher-ng on the
#               host's loopback (caching Debian, passing HTTPS to PyPI through),
#               reached from the namespace through a unix socket relay
# 4. boot       `vagrant up --provider=libvirt --no-provision`
# 5. provision  `vagrant provision`: the Vagrantfile's own provisioners, ending
#               with `make run` inside the VM
# 6. server     inside the VM: `make status`, one server booted to its
#               console's boot marker, then deleted
# 7. destroy    `vagrant destroy -f`
# then everything made for the run is removed (namespace, libvirtd, its
# networks and pool, proxy, relays), and the durations are printed as JSON.
#
# The VM's only link is its libvirt network inside the namespace, and the
# namespace has no link to the host's network at all: the one way out is the
# relay to the proxy, which serves the Debian archive and tunnels only to the
# PyPI hosts. A second run is faster: the box is kept, and so is the proxy's
# cache (CACHE_DIR/apt-cacher-ng).
#
# Environment: LAB_VM_PROXY_PORT (the proxy's port on 127.0.0.1, default 3143).
set -eu

CACHE=$(mkdir -p "${1:?usage: lab-vm-check.sh CACHE_DIR}" && cd "$1" && pwd)
PROJECT=$(cd "$(dirname "$0")/../.." && pwd)
PROXY_PORT=${LAB_VM_PROXY_PORT:-3143}
BOX_FILE=$CACHE/box/debian12-pocketstack.box
BOX_NAME=pocketstack/debian12-local
# vagrant-libvirt's management network is 192.168.121.0/24 with this gateway;
# inside the namespace the relay to the proxy listens there.
GATEWAY=192.168.121.1
GUEST_PROXY_PORT=3142
SERVER=lab-vm-check

NS=pocketstack-labvm-$$
RUN=$(mktemp -d "${TMPDIR:-/tmp}/pocketstack-labvm.XXXXXX")
chmod 755 "$RUN"     # QEMU runs as libvirt-qemu and opens disks below it
LIBVIRT=$RUN/libvirt
LIBVIRT_URI="qemu:///system?socket=$LIBVIRT/run/libvirt-sock"

# --- timing: each phase's duration, printed as JSON at the end ------------
START=$(date +%s)
FIGURES=""
PHASE=""
PHASE_START=0
RESULT=fail
begin() {
    PHASE=$1
    PHASE_START=$(date +%s)
    echo "=== lab-vm-check: $PHASE ($(date -u +%H:%M:%S) UTC)"
}
end() {
    FIGURES="$FIGURES\"${PHASE}_s\": $(( $(date +%s) - PHASE_START )), "
    PHASE=""
}

# --- undo: everything this run made, whatever phase it stopped in ---------
cleanup() {
    status=$?
    failed_in=$PHASE
    set +e
    begin cleanup
    if [ -d "$RUN/dotvagrant" ] && [ -S "$LIBVIRT/run/libvirt-sock" ]; then
        in_ns vagrant destroy -f >/dev/null 2>&1
    fi
    if [ -S "$LIBVIRT/run/libvirt-sock" ]; then
        for domain in $(virsh -c "$LIBVIRT_URI" list --all --name); do
            virsh -c "$LIBVIRT_URI" destroy "$domain" >/dev/null 2>&1
            virsh -c "$LIBVIRT_URI" undefine --remove-all-storage "$domain" >/dev/null 2>&1
        done
        for network in $(virsh -c "$LIBVIRT_URI" net-list --all --name); do
            virsh -c "$LIBVIRT_URI" net-destroy "$network" >/dev/null 2>&1
            virsh -c "$LIBVIRT_URI" net-undefine "$network" >/dev/null 2>&1
        done
        for pool in $(virsh -c "$LIBVIRT_URI" pool-list --all --name); do
            virsh -c "$LIBVIRT_URI" pool-destroy "$pool" >/dev/null 2>&1
            virsh -c "$LIBVIRT_URI" pool-undefine "$pool" >/dev/null 2>&1
        done
    fi
    # Whatever still runs in the namespace is this run's: libvirtd, dnsmasq,
    # the relay, vagrant's port forwards.
    if ip netns list | grep -qw "$NS"; then
        for pid in $(ip netns pids "$NS"); do kill "$pid" 2>/dev/null; done
        sleep 2
        for pid in $(ip netns pids "$NS"); do kill -9 "$pid" 2>/dev/null; done
        ip netns delete "$NS"
    fi
    for pidfile in "$RUN/relay.pid" "$RUN/acng/pid"; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    rm -rf "$RUN"
    CACHE_MB_AFTER=$(du -sm "$CACHE/apt-cacher-ng" 2>/dev/null | cut -f1)
    end
    total=$(( $(date +%s) - START ))
    [ "$status" = 0 ] || echo "lab-vm-check: FAILED in phase ${failed_in:-?}" >&2
    echo "{${FIGURES}\"total_s\": $total, \"box_built\": ${BOX_BUILT:-false}," \
         "\"proxy_cache_mb_before\": ${CACHE_MB_BEFORE:-0}," \
         "\"proxy_cache_mb_after\": ${CACHE_MB_AFTER:-0}," \
         "\"failed_phase\": \"${failed_in}\", \"result\": \"$RESULT\"}"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Vagrant as this run uses it: its boxes in CACHE_DIR, its state about the
# VM in the run's directory (not in the project's .vagrant/).
export VAGRANT_CWD="$PROJECT" VAGRANT_HOME="$CACHE/vagrant.d" \
    VAGRANT_DOTFILE_PATH="$RUN/dotvagrant" VAGRANT_DEFAULT_PROVIDER=libvirt \
    VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_BOX_UPDATE_CHECK_DISABLE=1

# Run a command inside the namespace, with the lab VM's settings for this run.
in_ns() {
    ip netns exec "$NS" env \
        POCKETSTACK_VAGRANT_BOX="$BOX_NAME" \
        POCKETSTACK_VAGRANT_ISOLATED=1 \
        POCKETSTACK_VAGRANT_PROXY="http://$GATEWAY:$GUEST_PROXY_PORT" \
        POCKETSTACK_VAGRANT_LIBVIRT_URI="$LIBVIRT_URI" \
        ${EXTRA_CA:+POCKETSTACK_VAGRANT_CA="$EXTRA_CA"} \
        "$@"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    deadline=$(( $(date +%s) + $1 )); what=$2; shift 2
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "lab-vm-check: timed out waiting for $what" >&2
            return 1
        fi
        sleep 1
    done
}

kvm_usable() {
    [ -c /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo
}

# --- 1. packages -----------------------------------------------------------
begin packages
sh "$PROJECT/labs/host/install-packages.sh"
sh "$PROJECT/labs/host/install-packages.sh" --lab-vm
end

# --- 2. the box ------------------------------------------------------------
begin box
if [ ! -f "$BOX_FILE" ]; then
    sh "$PROJECT/labs/vagrant/build-box.sh" "$CACHE/box"
    BOX_BUILT=true
    vagrant box remove --force "$BOX_NAME" >/dev/null 2>&1 || true
fi
if ! vagrant box list | grep -q "^$BOX_NAME "; then
    vagrant box add --name "$BOX_NAME" "$BOX_FILE"
fi
end

# --- 3. namespace, libvirtd, proxy ----------------------------------------
begin network
ip netns add "$NS"
ip -n "$NS" link set lo up
# The relay may listen on the gateway's address before libvirt creates it.
ip netns exec "$NS" sysctl -q -w net.ipv4.ip_nonlocal_bind=1

# A libvirtd of the run's own, in the namespace (its networks, dnsmasq and
# QEMU's NICs live there) and in a mount namespace where libvirt's
# directories are the run's (nothing of the host's libvirtd is seen or
# touched). Where KVM is not usable, /dev/kvm is masked as the stack does it,
# and QEMU writes its log itself (no virtlogd needed).
mkdir -p "$LIBVIRT/etc" "$LIBVIRT/run" "$LIBVIRT/lib/images" "$LIBVIRT/log" "$LIBVIRT/cache"
chmod 755 "$LIBVIRT" "$LIBVIRT/lib" "$LIBVIRT/lib/images"
: > "$LIBVIRT/etc/libvirtd.conf"
printf 'namespaces = [ ]\nstdio_handler = "file"\n' > "$LIBVIRT/etc/qemu.conf"
KVM_MASK=""
if ! kvm_usable && [ -e /dev/kvm ]; then
    KVM_MASK=$RUN/nokvm
    touch "$KVM_MASK"; chmod 000 "$KVM_MASK"
fi
mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
# shellcheck disable=SC2016
LIBVIRT_LOG_OUTPUTS="3:file:$LIBVIRT/log/libvirtd.log" \
ip netns exec "$NS" unshare --mount --propagation private sh -c '
    mount --bind "$1/etc" /etc/libvirt
    mount --bind "$1/run" /run/libvirt
    mount --bind "$1/lib" /var/lib/libvirt
    mount --bind "$1/log" /var/log/libvirt
    mount --bind "$1/cache" /var/cache/libvirt
    if [ -n "$2" ]; then mount --bind "$2" /dev/kvm; fi
    exec nice -n 5 libvirtd -d -p "$1/libvirtd.pid"' sh "$LIBVIRT" "$KVM_MASK"
wait_for 60 "libvirtd" virsh -c "$LIBVIRT_URI" version

# The proxy: apt-cacher-ng on the host's loopback, its cache kept in
# CACHE_DIR. Debian requests go to the mirror this host uses; HTTPS is
# tunnelled (CONNECT) to the PyPI hosts and nowhere else.
DEBIAN_MIRROR=$(apt-get indextargets --format '$(REPO_URI)' | grep -m1 '/debian/$' || true)
SECURITY_MIRROR=$(apt-get indextargets --format '$(REPO_URI)' | grep -m1 '/debian-security/$' || true)
mkdir -p "$RUN/acng/conf" "$RUN/acng/log" "$CACHE/apt-cacher-ng"
cat > "$RUN/acng/conf/acng.conf" <<CONF
CacheDir: $CACHE/apt-cacher-ng
LogDir: $RUN/acng/log
SupportDir: /usr/lib/apt-cacher-ng
PidFile: $RUN/acng/pid
SocketPath: $RUN/acng/socket
BindAddress: 127.0.0.1
Port: $PROXY_PORT
Remap-debrep: file:deb_mirror*.gz /debian ; ${DEBIAN_MIRROR:-http://deb.debian.org/debian/}
Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security ; ${SECURITY_MIRROR:-http://deb.debian.org/debian-security/}
PassThroughPattern: ^(pypi\.org|files\.pythonhosted\.org):443$
ExThreshold: 4
CONF
CACHE_MB_BEFORE=$(du -sm "$CACHE/apt-cacher-ng" | cut -f1)
apt-cacher-ng -c "$RUN/acng/conf"
wait_for 30 "apt-cacher-ng" socat -u /dev/null "TCP:127.0.0.1:$PROXY_PORT"
# The relay: namespace gateway:3142 -> unix socket -> host 127.0.0.1:PROXY_PORT.
socat "UNIX-LISTEN:$RUN/proxy.sock,fork,mode=600" "TCP:127.0.0.1:$PROXY_PORT" &
echo $! > "$RUN/relay.pid"
ip netns exec "$NS" socat "TCP-LISTEN:$GUEST_PROXY_PORT,bind=$GATEWAY,fork,reuseaddr" \
    "UNIX-CONNECT:$RUN/proxy.sock" &
# Where HTTPS from this host is re-signed by a local CA, the VM needs it too.
EXTRA_CA=""
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    EXTRA_CA=$RUN/extra-ca.crt
    cat /usr/local/share/ca-certificates/*.crt > "$EXTRA_CA"
fi
end

# --- 4. boot ---------------------------------------------------------------
begin boot
in_ns vagrant up --provider=libvirt --no-provision
end

# --- 5. provision: `make run` inside, as CI does --------------------------
begin provision
in_ns vagrant provision
end

# --- 6. inside the VM: the stack answers, one server boots ----------------
begin server
in_ns vagrant ssh -c "sudo sh -eu -c '
    cd /opt/pocketstack
    make status
    export OS_CLIENT_CONFIG_FILE=/var/lib/pocketstack/etc/clouds.yaml
    openstack() { .venv-clients/bin/openstack --os-cloud pocketstack \"\$@\"; }
    openstack server create --image pocketstack-tiny --flavor m1.nano --wait $SERVER
    status=\$(openstack server show -f value -c status $SERVER)
    echo \"server $SERVER: \$status\"
    test \"\$status\" = ACTIVE
    deadline=\$((\$(date +%s) + 900))
    until openstack console log show $SERVER | grep POCKETSTACK-DISKS; do
        test \$(date +%s) -lt \$deadline
        sleep 10
    done
    openstack server delete --wait $SERVER
'"
end

# --- 7. destroy ------------------------------------------------------------
begin destroy
in_ns vagrant destroy -f
rm -rf "$RUN/dotvagrant"
end

RESULT=pass
