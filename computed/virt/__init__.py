"""The hypervisor side: driver.py (the interface), libvirt_driver.py (the
one implementation), guest.py (the domain XML), qemu_img.py (disk images)."""
