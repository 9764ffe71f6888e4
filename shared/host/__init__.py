"""Host services PocketStack needs but does not implement itself.

A machine without systemd starts no libvirtd, virtlogd or tgtd for us.
Each module here starts one of them with the settings it needs,
idempotently, records what it started under <state>/run, and stops only that:

    libvirt_host  virtlogd + libvirtd (and the /dev/kvm trap), kvm_usable()
    tgt_host      tgtd, the userspace iSCSI target, bound to loopback
"""
