#!/bin/sh
# /init of the PocketStack tiny test image (PID 1, busybox ash).
#
# It does just enough for tests to see, on the serial console, what a real
# guest would see: which virtio disks it has (and their sizes), the config
# drive's hostname and user_data, the address DHCP gave each NIC (hot-plugged
# ones included), and a clean power-off on the ACPI button.  A web server on
# port 80 answers with the hostname, for checks that a guest is reachable.
# An SSH server (dropbear from Debian, public keys only) lets root in with the
# server's key pair, read from the metadata service or the config drive.
# PID 1 must never exit (the kernel would panic), so this script ends in an
# endless loop.
#
# Lines starting with POCKETSTACK- are the contract with the tests (and the
# SSH block with `pocketstack ssh`); keep them stable:
#   POCKETSTACK-DISKS: vda=<bytes> vdb=<bytes>   at boot and at each change
#   POCKETSTACK-BOOTED                           once, after the first DISKS
#   POCKETSTACK-NET: <nic> <mac> <ip>/<len>|none|gone   (udhcpc.sh)
#   POCKETSTACK-CONFIGDRIVE: <device>|none
#   POCKETSTACK-HOSTNAME: <name>                 from the config drive, else
#                                                the metadata service
#   POCKETSTACK-USERDATA: start, then exit=<status>   the user_data script ran
#   -----BEGIN SSH HOST KEY KEYS-----            the host keys made at this
#   ssh-ed25519 AAAA... root@<hostname>          boot, one OpenSSH public key
#   ecdsa-sha2-nistp256 AAAA... root@<hostname>  line each, as cloud-init
#   -----END SSH HOST KEY KEYS-----              prints them
#   POCKETSTACK-SSH: ready|failed                dropbear listens on port 22
#   POCKETSTACK-KEY: metadata|config-drive|none  where root's authorized key
#                                                came from
#   POCKETSTACK-POWEROFF                         the power button was pressed
# The serial console (ttyS0) also takes input: a line typed on it (Enter)
# starts a root shell there, as busybox init's "Please press Enter to
# activate this console" does; nothing is printed before, so an unused
# console carries only the lines above.
# The host keys live in RAM, like the whole root: each boot makes (and prints)
# new ones, so a reader takes the last block of the console log.

export PATH=/bin:/sbin
MODULES_DIR=/lib/modules
# What the background jobs below tell each other (e.g. "the config drive is
# mounted, or there is none").
STATE_DIR=/tmp/state
# The metadata service, reached through the route DHCP gives (option 121).
METADATA=http://169.254.169.254

mount_basics() {
    # devtmpfs gives us /dev/vda, /dev/sr0 ... for free
    # (no mdev/udev needed).
    mkdir -p /proc /sys /dev /tmp /mnt/config
    mount -t proc proc /proc
    mount -t sysfs sysfs /sys
    mount -t devtmpfs devtmpfs /dev
    # Pseudo-terminals, for SSH sessions with a terminal.
    mkdir -p /dev/pts
    mount -t devpts -o mode=620,ptmxmode=666 devpts /dev/pts
    # Keep kernel chatter off the console so our marker lines stay readable.
    echo 1 > /proc/sys/kernel/printk
    mkdir -p "$STATE_DIR"
    # A name until the config drive or the metadata service gives the real one.
    hostname pocketstack-tiny
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
    # Nova puts the config drive on an IDE cdrom (sr*), an IDE/SCSI disk
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

first_public_key() {
    # The first key of meta_data.json's "public_keys": {"<name>": "<key>"}
    # (Nova gives one, the server's key pair), without a trailing "\n".
    sed -n 's/.*"public_keys"[[:space:]]*:[[:space:]]*{[[:space:]]*"[^"]*"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' \
        "$1" | sed 's/\\n$//' | head -n 1
}

set_hostname() {
    [ -n "$1" ] || return 0
    hostname "$1"
    write_web_page
    echo "POCKETSTACK-HOSTNAME: $(hostname)"
}

run_user_data() {
    # $1: the script (a copy: the source may be a read-only drive).
    echo "POCKETSTACK-USERDATA: start"
    sh "$1"
    echo "POCKETSTACK-USERDATA: exit=$?"
}

apply_config_drive() {
    # The cdrom/ATA drivers probe asynchronously: give the drive ~10 s to show.
    # Without one, the metadata service gives the hostname and user data.
    tries=0
    until dev=$(find_config_drive); do
        tries=$((tries + 1))
        if [ "$tries" -ge 20 ]; then
            echo "POCKETSTACK-CONFIGDRIVE: none"
            echo none > "$STATE_DIR/configdrive"
            apply_metadata
            return 0
        fi
        sleep 0.5
    done
    echo "POCKETSTACK-CONFIGDRIVE: ${dev#/dev/}"
    mount -t iso9660 -o ro "$dev" /mnt/config || dev=none
    echo "${dev#/dev/}" > "$STATE_DIR/configdrive"
    latest=/mnt/config/openstack/latest
    if [ -f "$latest/meta_data.json" ]; then
        set_hostname "$(meta_value hostname "$latest/meta_data.json")"
    fi
    if [ -f "$latest/user_data" ]; then
        cp "$latest/user_data" /tmp/user_data
        run_user_data /tmp/user_data
    fi
}

config_drive_state() {
    # The config drive's device once apply_config_drive has looked ("none"
    # when there is none); it looks for at most ~10 s.
    until [ -s "$STATE_DIR/configdrive" ]; do
        sleep 0.2
    done
    cat "$STATE_DIR/configdrive"
}

# --- the metadata service ------------------------------------------------------
# http://169.254.169.254, Nova's metadata service behind Neutron's proxy,
# which knows the instance by its fixed IP.  Asked only once eth0 has a lease.

has_lease() {
    # Wait until $1 has a DHCP lease (0), or until it is clear it will not
    # have one soon (1): no such NIC, or udhcpc said "none" (~30 s).
    while [ -e "/sys/class/net/$1" ]; do
        case "$(cat "/tmp/net/$1.lease" 2>/dev/null)" in
            none) return 1 ;;
            ?*) return 0 ;;
        esac
        sleep 0.2
    done
    return 1
}

metadata_get() {
    # metadata_get <path> <file>: GET $METADATA/<path> into <file>.
    # Returns 0 (got it), 1 (the service answered 404: there is no such item)
    # or 2 (no answer after 4 tries, ~15 s at most).  busybox's wget has no
    # timeout option of its own (this build crashes on -T): `timeout` bounds
    # each try.
    for try in 1 2 3 4; do
        if timeout 3 wget -q -O "$2.part" "$METADATA/$1" 2> "$2.err"; then
            mv "$2.part" "$2"
            return 0
        fi
        rm -f "$2.part"
        grep -q " 404 " "$2.err" && return 1
        [ "$try" = 4 ] || sleep 1
    done
    return 2
}

apply_metadata() {
    # Hostname and user data for a guest without a config drive.
    has_lease eth0 || return 0
    if metadata_get openstack/latest/meta_data.json /tmp/meta_data.json; then
        set_hostname "$(meta_value hostname /tmp/meta_data.json)"
    fi
    if metadata_get openstack/latest/user_data /tmp/user_data; then
        run_user_data /tmp/user_data
    fi
}

# --- SSH ------------------------------------------------------------------------
# dropbear, public-key logins only (-s), as root with /bin/sh (/etc/passwd is
# in the image).  Its host keys are made first, and it listens on port 22
# long before the network is up; root's authorized key comes later.

SSH_DIR=/etc/dropbear

ssh_listening() {
    # /proc/net/tcp{,6}: "<n>: <local addr>:<port> <remote> <state> ...", in
    # hex: port 22 is 0016, LISTEN is 0A.
    grep -q "^ *[0-9]*: [0-9A-F]*:0016 [0-9A-F]*:0000 0A " /proc/net/tcp /proc/net/tcp6 \
        2>/dev/null
}

make_host_key() {
    # make_host_key <type>: write the key and print its public line without
    # the comment; dropbearkey prints it as "Public key portion is:\n<line>".
    dropbearkey -t "$1" -f "$SSH_DIR/dropbear_$1_host_key" 2>/dev/null \
        | grep -E "^(ssh|ecdsa)-" | { read -r kind blob _ && echo "$kind $blob"; }
}

start_ssh() {
    mkdir -p "$SSH_DIR" /tmp/ssh
    # ed25519 first (what clients prefer), then ECDSA P-256: both take a
    # fraction of a second, even under TCG.  Written to a file, then printed
    # with one write, so that no other job's line lands inside the block.
    {
        echo "-----BEGIN SSH HOST KEY KEYS-----"
        for type in ed25519 ecdsa; do
            line=$(make_host_key "$type")
            [ -n "$line" ] && echo "$line root@$(hostname)"
        done
        echo "-----END SSH HOST KEY KEYS-----"
    } > /tmp/ssh/host_keys
    keys=""
    for type in ed25519 ecdsa; do
        file=$SSH_DIR/dropbear_${type}_host_key
        [ -s "$file" ] && keys="$keys -r $file"
    done
    # -F: stay in the foreground (this job is its parent), -E: log to stderr.
    dropbear -F -E -s -p 22 $keys 2> /tmp/ssh/dropbear.log &
    cat /tmp/ssh/host_keys
    tries=0
    until ssh_listening; do
        tries=$((tries + 1))
        if [ "$tries" -ge 100 ] || ! kill -0 $! 2>/dev/null; then
            echo "POCKETSTACK-SSH: failed"
            cat /tmp/ssh/dropbear.log
            return 1
        fi
        sleep 0.1
    done
    echo "POCKETSTACK-SSH: ready"
}

install_authorized_key() {
    # From the metadata service once eth0 has a lease; else (no network, or
    # the service does not answer) from the config drive.
    key=/tmp/ssh/authorized_key
    if has_lease eth0 && metadata_get 2009-04-04/meta-data/public-keys/0/openssh-key "$key"; then
        source=metadata
        # The server's name too, before anyone can log in (cloud-init also
        # sets it first): the config drive, read later behind the slow
        # cdrom stack, gives the same name.
        metadata_get openstack/latest/meta_data.json /tmp/ssh/meta_data.json \
            && set_hostname "$(meta_value hostname /tmp/ssh/meta_data.json)"
    elif [ "$(config_drive_state)" != none ] && [ -f /mnt/config/openstack/latest/meta_data.json ] \
            && first_public_key /mnt/config/openstack/latest/meta_data.json > "$key" \
            && [ -s "$key" ]; then
        source=config-drive
    else
        source=none
    fi
    if [ "$source" != none ]; then
        mkdir -p /root/.ssh
        chmod 700 /root/.ssh
        cp "$key" /root/.ssh/authorized_keys.new
        chmod 600 /root/.ssh/authorized_keys.new
        mv /root/.ssh/authorized_keys.new /root/.ssh/authorized_keys
    fi
    echo "POCKETSTACK-KEY: $source"
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

serial_shell() {
    # A root shell on the serial line once someone presses Enter there (the
    # remote serial console: Nova's `console url show --serial`), again
    # after each exit.  setsid -c makes the line the shell's controlling
    # terminal, so Ctrl-C reaches the command running in it.
    while true; do
        read -r _ < /dev/ttyS0 || { sleep 1; continue; }
        HOME=/root setsid -c sh -l < /dev/ttyS0 > /dev/ttyS0 2>&1
    done
}

mount_basics
serial_shell &
# The SSH server needs no driver: its host keys are made, and it starts
# listening, while the rest boots.
start_ssh &
# virtio disks and the power button first: they are what the first marker
# and a clean shutdown need.  The NIC driver and DHCP, and the cdrom/ATA/SCSI
# stack (for the config drive, bigger and slow to probe), load in the
# background: neither delays the first marker.  DHCP waits on nothing; the
# authorized key waits for DHCP (or for the config drive without a network).
load_modules early.order
watch_power_button &
( load_modules net.order; start_network & install_authorized_key ) &
( load_modules late.order; apply_config_drive ) &
watch_disks
# Not reached: watch_disks loops forever.  Never let PID 1 exit.
while true; do sleep 3600; done
