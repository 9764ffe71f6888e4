"""The host CPU as Nova's libvirt driver reports it in a hypervisor's
cpu_info: read from libvirt's host capabilities XML (<host><cpu> and the
NUMA cells of <host><topology>), so that `openstack hypervisor show` gives
the same object as Nova's: arch, model, vendor, topology (cells, sockets,
cores, threads) and the sorted feature names."""
from __future__ import annotations

import platform
import xml.etree.ElementTree as ET


def cpu_info(capabilities_xml: str) -> dict:
    """cpu_info from `virConnectGetCapabilities`; what libvirt does not say
    is left as Nova leaves it (None), the arch falling back to Python's."""
    try:
        host = ET.fromstring(capabilities_xml).find("host")
    except ET.ParseError:
        host = None
    cpu = host.find("cpu") if host is not None else None
    if cpu is None:
        cpu = ET.Element("cpu")
    topology = cpu.find("topology")
    cells = host.findall("./topology/cells/cell") if host is not None else []
    return {
        "arch": cpu.findtext("arch") or platform.machine(),
        "model": cpu.findtext("model"),
        "vendor": cpu.findtext("vendor"),
        "topology": {"cells": len(cells) or 1,
                     **{key: _int(topology, key) for key in ("sockets", "cores", "threads")}},
        "features": sorted({f.get("name") for f in cpu.findall("feature") if f.get("name")}),
    }


def _int(element: ET.Element | None, key: str) -> int | None:
    value = element.get(key) if element is not None else None
    return int(value) if value and value.isdigit() else None
