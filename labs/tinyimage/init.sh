#!/bin/sh
# /init of the PocketStack tiny test image (PID 1, busybox ash).
#
# It does just enough for tests to see, on the serial console, what a real
# guest would see: which virtio disks it has (and their sizes), the config
# drive's hostname and user_data, the address DHCP gave each NIC (hot-plugged
# ones included), and a clean power-off on the ACPI button.  A web server on
# port 80 answers with the hostname, for checks that a guest is reachable.
# Lines starting with POCKETSTACK- are the contract with the tests; keep them
# stable.  PID 1 must never exit (the kernel would panic), so this script
# ends in an endless loop.

export PATH=/bin:/sbin
MODULES_DIR=/lib/modules

mount_basics() {
    # devtmpfs gives us /dev/vda, /dev/sr0 ... for free
    # (no mdev/udev needed).
    mkdir -p /proc /sys /dev /tmp /mnt/config
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    # Keep kernel chatter off the console so our marker lines stay readable.
    echo 1 > /proc/sys/kernel/printk
}

load_modules() {
    # $MODULES_DIR/<group>.order lists module names, dependencies first (the
    # image builder computed it from each module's "depends=" field).
    while read -r module; do
        insmod "$MODULES_DIR/$module.ko" 2>/dev/null
    done < "$MODULES_DIR/$1"
}

disk_list() {
    # "vda=<bytes> vdb=<bytes>": /sys/block/X/size counts 512-byte sectors
    # whatever the disk's logical block size is.
    out=""
    for d in /sys/block/vd*; do
        [ -e "$d/size" ] || continue
        sectors=$(cat "$d/size")
        out="$out ${d##*/}=$((sectors * 512))"
    done
    echo "${out# }"
}

iso_label() {
    # The ISO9660 volume label: 32 bytes at offset 40 of the primary volume
    # descriptor, which starts at byte 32768 (sector 16).  Reading it with dd
    # needs no mount and no blkid (busybox has none).
    dd if="$1" bs=1 skip=32808 count=32 2>/dev/null | tr -d ' \000'
}

find_config_drive() {
    # Nova puts the config drive on an IDE/SATA cdrom (sr*), an IDE/SCSI disk
    # (sd*) or a virtio disk; its ISO9660 label is always "config-2".
    for d in /sys/block/sr* /sys/block/sd* /sys/block/vd*; do
        [ -e "$d" ] || continue
        dev=/dev/${d##*/}
        if [ "$(iso_label "$dev")" = "config-2" ]; then
            echo "$dev"
            return 0
        fi
    done
    return 1
}

meta_value() {
    # Extract a top-level string value from meta_data.json with sed; good
    # enough for the flat keys we need (nova writes it on one line).
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\\([^\"]*\\)\".*/\\1/p" "$2" | head -n 1
}

apply_config_drive() {
    # The cdrom/ATA drivers probe asynchronously: give the drive ~10 s to show.
    tries=0
    until dev=$(find_config_drive); do
        tries=$((tries + 1))
        if [ "$tries" -ge 20 ]; then
            echo "POCKETSTACK-CONFIGDRIVE: none"
            return 0
        fi
        sleep 0.5
    done
    echo "POCKETSTACK-CONFIGDRIVE: ${dev#/dev/}"
    mount -t iso9660 -o ro "$dev" /mnt/config || return 1
    latest=/mnt/config/openstack/latest
    if [ -f "$latest/meta_data.json" ]; then
        name=$(meta_value hostname "$latest/meta_data.json")
        if [ -n "$name" ]; then
            hostname "$name"
            write_web_page
            echo "POCKETSTACK-HOSTNAME: $(hostname)"
        fi
    fi
    if [ -f "$latest/user_data" ]; then
        cp "$latest/user_data" /tmp/user_data
        echo "POCKETSTACK-USERDATA: start"
        sh /tmp/user_data
        echo "POCKETSTACK-USERDATA: exit=$?"
    fi
}

# --- networking ---------------------------------------------------------------
# Each NIC (eth0 at boot, eth1... when hot-plugged) gets its own udhcpc,
# which runs /etc/udhcpc.script at each DHCP event; the script prints
#     POCKETSTACK-NET: <nic> <mac> <ip>/<prefix length>
# once leased (or "<mac> none" after ~30 s without a lease: udhcpc keeps
# trying, 10 discovers 3 s apart, then a pause of 10 s).  A NIC that goes
# away prints "POCKETSTACK-NET: <nic> gone".

start_dhcp() {
    ip link set "$1" up 2>/dev/null
    udhcpc -f -i "$1" -s /etc/udhcpc.script -t 10 -T 3 -A 10 -O staticroutes \
        </dev/null >/dev/null 2>&1 &
    echo $! > "/tmp/net/$1.pid"
}

stop_dhcp() {
    kill "$(cat "/tmp/net/$1.pid")" 2>/dev/null
    rm -f "/tmp/net/$1.pid" "/tmp/net/$1.lease"
}

nic_list() {
    for nic in /sys/class/net/eth*; do
        [ -e "$nic" ] && echo "${nic##*/}"
    done
}

watch_nics() {
    # Every half second, as for the disks: new NICs get DHCP, gone ones say so.
    mkdir -p /tmp/net
    known=""
    while true; do
        now=$(nic_list)
        for nic in $now; do
            case " $(echo $known) " in
                *" $nic "*) ;;
                *) start_dhcp "$nic" ;;
            esac
        done
        for nic in $known; do
            case " $(echo $now) " in
                *" $nic "*) ;;
                *) stop_dhcp "$nic"; echo "POCKETSTACK-NET: $nic gone" ;;
            esac
        done
        known=$now
        sleep 0.5
    done
}

write_web_page() {
    mkdir -p /tmp/www
    echo "pocketstack-tiny $(hostname)" > /tmp/www/index.html
}

start_network() {
    ip link set lo up
    write_web_page
    httpd -p 80 -h /tmp/www
    watch_nics
}

power_button_presses() {
    # ACPI counts fixed-feature power button events here ("  <count>  enabled").
    # The counter is cumulative since boot, so no press can be missed, even
    # one that came before this loop started.  (The "button" module must be
    # loaded: it is what enables the event.)
    set -- $(cat /sys/firmware/acpi/interrupts/ff_pwr_btn 2>/dev/null)
    echo "${1:-0}"
}

watch_power_button() {
    # An ACPI shutdown (virsh shutdown, QEMU system_powerdown) is a press of
    # the power button: the first press means "power off now".  A press
    # before the button module is loaded is dropped by the (virtual)
    # hardware, as on a real PC; from POCKETSTACK-BOOTED on, none is lost.
    while [ "$(power_button_presses)" = 0 ]; do
        sleep 0.5
    done
    echo "POCKETSTACK-POWEROFF"
    sync
    poweroff -f
}

watch_disks() {
    # Print the marker at boot and whenever the set of disks (or a size)
    # changes: hot-plug and hot-unplug show up within about half a second.
    last="-"
    booted=""
    while true; do
        now=$(disk_list)
        if [ "$now" != "$last" ]; then
            echo "POCKETSTACK-DISKS: $now"
            last=$now
        fi
        if [ -z "$booted" ]; then
            echo "POCKETSTACK-BOOTED"
            booted=yes
        fi
        sleep 0.5
    done
}

mount_basics
# virtio disks and the power button first: they are what the first marker
# and a clean shutdown need.  The NIC driver and DHCP, and the cdrom/ATA/SCSI
# stack (for the config drive, bigger and slow to probe), load in the
# background: neither delays the first marker.
load_modules early.order
watch_power_button &
( load_modules net.order; start_network ) &
( load_modules late.order; apply_config_drive ) &
watch_disks
# Not reached: watch_disks loops forever.  Never let PID 1 exit.
while true; do sleep 3600; done
