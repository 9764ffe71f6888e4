"""The PocketStack tiny test image.

A bootable qcow2 of a few MB, built from Debian packages at build time: a
Debian kernel plus a busybox initramfs whose /init reports the guest's virtio
disks, config drive, network and shutdown on the serial console, and runs an
SSH server (Debian's dropbear) that lets root in with the server's key pair
(see init.sh).  Tests boot it under TCG in a few seconds where a real cloud
image takes minutes.

    from labs.tinyimage import build
    image = build(Path("/var/cache/pocketstack-test"))
"""
from .builder import IMAGE_NAME, build

__all__ = ["IMAGE_NAME", "build"]
