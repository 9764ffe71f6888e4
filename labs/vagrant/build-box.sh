#!/bin/sh
# Build a Debian 12 box for vagrant-libvirt from Debian packages.
#
#   build-box.sh OUT_DIR      writes OUT_DIR/debian12-pocketstack.box
#
# No public box can be downloaded everywhere, so the lab VM's box is made here:
# no loop device, no device-mapper, no mount (none of them works in a
# container), only files:
#   1. mmdebstrap makes the root file system as a directory, with the
#      `vagrant` user, its well-known insecure key (shipped in Debian's vagrant
#      package; Vagrant replaces it at first `vagrant up`), passwordless sudo,
#      DHCP on the first NIC and SSH host keys made at first boot;
#   2. one sparse raw disk: partition 1 a FAT file system with the kernel, the
#      initramfs and syslinux (made apart with mtools, copied in with dd),
#      partition 2 an ext4 file system filled from the directory by
#      `mke2fs -d` at the partition's offset;
#   3. the disk as qcow2, with metadata.json and a Vagrantfile, in a tar.
# The kernel lives on the FAT partition, so a kernel upgrade inside the VM does
# not boot: fine for a lab box.
#
# Debian packages it needs: mmdebstrap fdisk e2fsprogs dosfstools mtools
# syslinux syslinux-common qemu-utils vagrant. Runs as root.
set -eu

OUT=${1:?usage: build-box.sh OUT_DIR}
SIZE_G=${SIZE_G:-20}     # the VM's virtual disk, GiB
BOOT_MB=256              # the FAT partition: kernel, initramfs, syslinux
BOX=$OUT/debian12-pocketstack.box
KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub | head -1)
WORK=$OUT/work
ROOT=$WORK/root

# The VM fetches packages the way this host does: same mirror (the host's
# Debian sources, when it has them in deb822 form) and the same apt options
# that make that mirror usable (e.g. a snapshot mirror needs
# Check-Valid-Until off).
MIRROR=""
[ -f /etc/apt/sources.list.d/debian.sources ] && MIRROR=/etc/apt/sources.list.d/debian.sources
set --
for option in Acquire::Check-Valid-Until Acquire::Check-Date; do
    if apt-config dump "$option" | grep -q '"false"'; then
        set -- "$@" "--aptopt=$option \"false\""
    fi
done

rm -rf "$WORK"
mkdir -p "$WORK"

# 1. The root file system, as a directory. The dpkg and initramfs settings
# make package installation inside the VM much faster where it runs under
# emulation (TCG): no fsync per file, no manual pages or translations, no
# initramfs rebuilt (the box boots the initramfs made here).
mmdebstrap --variant=minbase --mode=root "$@" \
  --include=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,openssh-server,sudo,rsync,procps,iproute2,netbase,ca-certificates,less \
  --setup-hook='mkdir -p "$1/etc/dpkg/dpkg.cfg.d"' \
  --setup-hook='printf "force-unsafe-io\n" > "$1/etc/dpkg/dpkg.cfg.d/unsafe-io"' \
  --setup-hook='printf "path-exclude=/usr/share/man/*\npath-exclude=/usr/share/locale/*\npath-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\n" > "$1/etc/dpkg/dpkg.cfg.d/lab-nodoc"' \
  --customize-hook='echo pocketstack > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1 localhost\n127.0.1.1 pocketstack\n" > "$1/etc/hosts"' \
  --customize-hook='printf "/dev/vda2 / ext4 errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
  --customize-hook='sed -i "s/^update_initramfs=.*/update_initramfs=no/" "$1/etc/initramfs-tools/update-initramfs.conf"' \
  --customize-hook='chroot "$1" useradd -m -s /bin/bash -U vagrant' \
  --customize-hook='printf "vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n" > "$1/etc/sudoers.d/vagrant"; chmod 440 "$1/etc/sudoers.d/vagrant"' \
  --customize-hook="mkdir -p \"\$1/home/vagrant/.ssh\"; cp $KEY \"\$1/home/vagrant/.ssh/authorized_keys\"" \
  --customize-hook='chroot "$1" sh -c "chmod 700 /home/vagrant/.ssh; chmod 600 /home/vagrant/.ssh/authorized_keys; chown -R vagrant:vagrant /home/vagrant/.ssh"' \
  --customize-hook='printf "[Match]\nName=eth0 en*\n\n[Network]\nDHCP=yes\n" > "$1/etc/systemd/network/10-dhcp.network"' \
  --customize-hook='chroot "$1" systemctl enable systemd-networkd' \
  --customize-hook='printf "UseDNS no\n" > "$1/etc/ssh/sshd_config.d/vagrant.conf"' \
  --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*; printf "[Unit]\nDescription=SSH host keys, made at first boot\nBefore=ssh.service\nConditionPathExists=!/etc/ssh/ssh_host_ed25519_key\n[Service]\nType=oneshot\nExecStart=/usr/bin/ssh-keygen -A\n[Install]\nWantedBy=multi-user.target\n" > "$1/etc/systemd/system/ssh-keygen.service"; chroot "$1" systemctl enable ssh-keygen.service' \
  --customize-hook='cp "$1"/boot/vmlinuz-* "$1/../vmlinuz"; cp "$1"/boot/initrd.img-* "$1/../initrd.img"' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$ROOT" $MIRROR

# 2. One raw disk: an MBR with syslinux's boot code, p1 FAT, p2 ext4.
DISK=$WORK/disk.raw
truncate -s "${SIZE_G}G" "$DISK"
printf 'label: dos\nstart=2048, size=%dM, type=c, bootable\ntype=83\n' "$BOOT_MB" | sfdisk -q "$DISK"
P2_SECTOR=$(sfdisk -d "$DISK" | awk -F'[=,]' '/disk.raw2/ {gsub(/ /, ""); print $2}')
P2_OFFSET=$((P2_SECTOR * 512))
P2_KIB=$(( ($(stat -c %s "$DISK") - P2_OFFSET) / 1024 ))
dd if=/usr/lib/syslinux/mbr/mbr.bin of="$DISK" bs=440 count=1 conv=notrunc status=none
cat > "$WORK/syslinux.cfg" <<CFG
DEFAULT linux
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img root=/dev/vda2 ro net.ifnames=0 console=tty0 console=ttyS0,115200n8
CFG
mkfs.fat -n BOOT -C "$WORK/boot.fat" $((BOOT_MB * 1024)) >/dev/null
mcopy -i "$WORK/boot.fat" "$WORK/vmlinuz" "$WORK/initrd.img" "$WORK/syslinux.cfg" ::/
syslinux --install "$WORK/boot.fat"
dd if="$WORK/boot.fat" of="$DISK" bs=1M seek=1 conv=notrunc status=none
mke2fs -q -t ext4 -L root -E offset="$P2_OFFSET" -d "$ROOT" "$DISK" "${P2_KIB}k"

# 3. The box: a qcow2 disk, what vagrant-libvirt needs to know of it, and a
# Vagrantfile of its own (virtio disks: the fstab says /dev/vda2), in a plain
# tar (it never leaves this machine: compressing it would only cost minutes).
qemu-img convert -O qcow2 "$DISK" "$WORK/box.img"
printf '{"provider":"libvirt","format":"qcow2","virtual_size":%d}\n' "$SIZE_G" > "$WORK/metadata.json"
cat > "$WORK/Vagrantfile" <<'VF'
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.disk_bus = "virtio"
  end
end
VF
tar -C "$WORK" -cf "$BOX.tmp" metadata.json Vagrantfile box.img
mv "$BOX.tmp" "$BOX"
rm -rf "$WORK"
echo "box: $BOX ($(du -h "$BOX" | cut -f1))"
