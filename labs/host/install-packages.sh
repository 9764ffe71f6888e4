#!/bin/sh
# Install the Debian packages PocketStack needs, and only those missing.
# Runs as root on Debian 12 (bookworm). Safe to run again: it does nothing
# when everything is there.
#
#   install-packages.sh           what the stack needs (make run)
#   install-packages.sh --test    also what only the tests need (make test):
#                                 cloud-init's own code, to prove the metadata
#                                 service against a client nobody here wrote.
#                                 It comes without its recommends and stays
#                                 disabled, so it never configures this machine.
#                                 Chromium and a font, for the dashboard's
#                                 browser tests (driven by Playwright).
#                                 And Ceph and Swift, as --ceph and --swift
#                                 install them.
#   install-packages.sh --ceph    Ceph's monitor, OSD, manager, tools and
#                                 Python bindings, for a stack whose
#                                 pocketstack.conf enables [ceph] (without
#                                 recommends; the machine gets no Ceph daemon
#                                 of its own).
#   install-packages.sh --lab-vm  what `make lab-vm-check` needs: Vagrant with
#                                 its libvirt provider, the box builder's tools
#                                 (mmdebstrap, partitioning, FAT, syslinux) and
#                                 the caching package proxy apt-cacher-ng
#                                 (without recommends).
#   install-packages.sh --swift   Swift's proxy, account, container and object
#                                 servers, memcached and keystonemiddleware,
#                                 for a stack whose pocketstack.conf enables
#                                 [swift] (without recommends; their init
#                                 scripts start nothing: the stack runs its own).
set -eu

PACKAGES="
python3 python3-venv python3-dev gcc make pkg-config
qemu-system-x86 qemu-utils qemu-block-extra
libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients libvirt-dev
tgt libiscsi-bin
syslinux syslinux-common mtools dosfstools cpio busybox-static kmod
genisoimage xorriso e2fsprogs util-linux
dnsmasq-base passt iproute2 nftables conntrack openssh-client curl jq tini
postgresql
"

TEST_PACKAGES=""
CEPH_PACKAGES="ceph-mon ceph-osd ceph-mgr ceph-common python3-rados python3-rbd"
SWIFT_PACKAGES="swift swift-proxy swift-account swift-container swift-object memcached
python3-keystonemiddleware"
if [ "${1:-}" = "--ceph" ]; then
    TEST_PACKAGES="$CEPH_PACKAGES"
fi
if [ "${1:-}" = "--swift" ]; then
    TEST_PACKAGES="$SWIFT_PACKAGES"
fi
if [ "${1:-}" = "--lab-vm" ]; then
    TEST_PACKAGES="vagrant vagrant-libvirt rsync mmdebstrap fdisk e2fsprogs dosfstools
    mtools syslinux syslinux-common qemu-utils apt-cacher-ng socat iptables"
fi
if [ "${1:-}" = "--test" ]; then
    TEST_PACKAGES="cloud-init chromium fonts-liberation $CEPH_PACKAGES $SWIFT_PACKAGES"
    mkdir -p /etc/cloud
    touch /etc/cloud/cloud-init.disabled
fi

not_installed() {
    for package in "$@"; do
        status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
        case "$status" in
            *"install ok installed"*) ;;
            *) printf ' %s' "$package" ;;
        esac
    done
}
# shellcheck disable=SC2086
missing=$(not_installed $PACKAGES)
# shellcheck disable=SC2086
missing_test=$(not_installed $TEST_PACKAGES)

# The tiny test image is built from Debian packages fetched with
# `apt-get download`, which needs the package lists even when nothing is missing.
need_lists=no
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || need_lists=yes

if [ -z "$missing" ] && [ -z "$missing_test" ] && [ "$need_lists" = no ]; then
    echo "system packages: all present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "system packages missing:$missing$missing_test" >&2
    echo "run as root (or install them with apt-get) and try again" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ -n "$missing" ]; then
    echo "system packages: installing$missing"
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing
    # Where systemd runs (e.g. a Vagrant lab VM), the tgt package starts and
    # enables the machine's own tgtd, listening on every address on port 3260,
    # where the stack's tgtd must bind 127.0.0.1:3260: stop and disable it.
    if [ -d /run/systemd/system ] && systemctl is-enabled --quiet tgt 2>/dev/null; then
        systemctl disable --now tgt
    fi
fi
if [ -n "$missing_test" ]; then
    echo "test packages: installing$missing_test"
    # Their packages would start the machine's own memcached and Swift servers
    # (on every address, with /etc/swift's settings): a stack runs its own, so
    # starts are refused for the install (Debian's policy-rc.d, exit 101).
    own_policy=no
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        own_policy=yes
    fi
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing_test || status=$?
    if [ "$own_policy" = yes ]; then rm -f /usr/sbin/policy-rc.d; fi
    exit "${status:-0}"
fi
