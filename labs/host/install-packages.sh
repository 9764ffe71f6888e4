#!/bin/sh
# Install the Debian packages PocketStack needs, and only those missing.
# Runs as root on Debian 12 (bookworm). Safe to run again: it does nothing
# when everything is there.
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

missing=""
for package in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $package" ;;
    esac
done

# The tiny test image is built from Debian packages fetched with
# `apt-get download`, which needs the package lists even when nothing is missing.
need_lists=no
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 || need_lists=yes

if [ -z "$missing" ] && [ "$need_lists" = no ]; then
    echo "system packages: all present"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "system packages missing:$missing" >&2
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
