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
set -eu

PACKAGES="
python3 python3-venv python3-dev gcc make pkg-config
qemu-system-x86 qemu-utils qemu-block-extra
libvirt-daemon libvirt-daemon-driver-qemu libvirt-daemon-system libvirt-clients libvirt-dev
tgt libiscsi-bin
syslinux syslinux-common mtools dosfstools cpio busybox-static kmod
genisoimage xorriso e2fsprogs util-linux
dnsmasq-base passt iproute2 nftables conntrack openssh-client
postgresql
"

TEST_PACKAGES=""
if [ "${1:-}" = "--test" ]; then
    TEST_PACKAGES="cloud-init"
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
fi
if [ -n "$missing_test" ]; then
    echo "test packages: installing$missing_test"
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing_test
fi
