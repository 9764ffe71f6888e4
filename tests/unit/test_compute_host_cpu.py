"""cpu_info read from libvirt's host capabilities, as Nova's libvirt driver
reports it from 2.28 (computed/virt/host_cpu.py)."""
from __future__ import annotations

import platform

from computed.virt.host_cpu import cpu_info

CAPABILITIES = """<capabilities><host>
  <cpu><arch>x86_64</arch><model>Skylake-Client-IBRS</model><vendor>Intel</vendor>
    <topology sockets='2' dies='1' cores='4' threads='2'/>
    <feature name='vmx'/><feature name='aes'/><feature name='vmx'/></cpu>
  <topology><cells num='2'><cell id='0'/><cell id='1'/></cells></topology>
</host></capabilities>"""


def test_the_host_cpu_as_nova_reports_it():
    assert cpu_info(CAPABILITIES) == {
        "arch": "x86_64", "model": "Skylake-Client-IBRS", "vendor": "Intel",
        "topology": {"cells": 2, "sockets": 2, "cores": 4, "threads": 2},
        "features": ["aes", "vmx"]}


def test_what_libvirt_does_not_say_is_none_and_one_cell():
    for xml in ("<capabilities><host/></capabilities>", "not xml"):
        assert cpu_info(xml) == {
            "arch": platform.machine(), "model": None, "vendor": None,
            "topology": {"cells": 1, "sockets": None, "cores": None, "threads": None},
            "features": []}
