"""[libvirt] guest_cpu_readback on the real libvirt and QEMU: a domain of
computed's XML started both ways (libvirt reading the guest's CPU back
through feature-words, or one qom-get per feature) ends up with the same
live CPU definition, which is what libvirt reads it back for
(computed/virt/guest.py cpu_readback_element)."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import libvirt
import pytest

from computed.config import CPU_READBACKS
from computed.virt.guest import QEMU_NS, FileDisk, GuestSpec, domain_xml
from computed.virt.libvirt_driver import choose_virt_type
from tests.e2e.conftest import make_empty_qcow2

pytestmark = pytest.mark.e2e


def started_paused(conn, vm_dir, readback: str) -> ET.Element:
    """The live XML of computed's domain for a bare guest, started paused."""
    guest = GuestSpec(uuid=str(uuid.uuid4()), domain_name=f"readback-{readback}",
                      vcpus=1, memory_mb=128,
                      disks=[FileDisk(make_empty_qcow2(vm_dir / f"{readback}.qcow2", "64M"),
                                      "vda", "qcow2")],
                      volumes=[], console_log=vm_dir / f"{readback}.log")
    domain = conn.defineXML(domain_xml(guest, choose_virt_type("auto"), True, readback))
    try:
        domain.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED)
        live = ET.fromstring(domain.XMLDesc())
        domain.destroy()
        return live
    finally:
        domain.undefine()


def test_both_readbacks_give_libvirt_the_same_guest_cpu(libvirt_conn, vm_dir):
    live = {readback: started_paused(libvirt_conn, vm_dir, readback)
            for readback in CPU_READBACKS}
    cpus = {readback: ET.tostring(xml.find("cpu")) for readback, xml in live.items()}
    assert cpus["feature-words"] == cpus["per-feature"]
    # libvirt checked the CPU it read back (check='full' once it has it)
    assert live["per-feature"].find("cpu").get("check") == "full"
    overrides = {readback: [del_.get("capability") for del_ in
                            xml.iterfind(f"{{{QEMU_NS}}}capabilities/{{{QEMU_NS}}}del")]
                 for readback, xml in live.items()}
    assert overrides == {"feature-words": ["cpu-unavailable-features"], "per-feature": []}
