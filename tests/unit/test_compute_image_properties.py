"""The image's hw_* / os_* properties read into the guest's hardware, as
Nova's libvirt driver reads them: defaults, allowed values, refusals that
name the property, and the CPU topology against the flavor's vCPUs."""
from __future__ import annotations

import pytest

from computed.domain.devices import config_drive_device, local_disks
from computed.domain.image_properties import (
    CpuTopology,
    GuestHardware,
    InvalidImageProperty,
    guest_hardware,
)


def test_an_image_without_properties_gets_the_old_hardware():
    assert guest_hardware({"id": "i", "disk_format": "qcow2"}, 1) == GuestHardware(
        disk_bus="virtio", cdrom_bus="ide", rng=False, guest_agent=False,
        cpu_topology=None, clock_offset="utc")


def test_the_properties_become_hardware():
    hardware = guest_hardware({"hw_disk_bus": "scsi", "hw_scsi_model": "virtio-scsi",
                               "hw_cdrom_bus": "sata", "hw_rng_model": "virtio",
                               "hw_qemu_guest_agent": "yes", "hw_vif_model": "e1000",
                               "os_type": "windows"}, 2)
    assert hardware == GuestHardware(disk_bus="scsi", cdrom_bus="sata", rng=True,
                                     guest_agent=True, clock_offset="localtime",
                                     vif_model="e1000")


@pytest.mark.parametrize("value, expected", [("yes", True), ("True", True), ("1", True),
                                             ("no", False), ("false", False), ("", False)])
def test_the_guest_agent_flag_reads_like_nova_booleans(value, expected):
    assert guest_hardware({"hw_qemu_guest_agent": value}, 1).guest_agent is expected


@pytest.mark.parametrize("name, value", [
    ("hw_disk_bus", "floppy"), ("hw_cdrom_bus", "virtio"), ("hw_rng_model", "egd"),
    ("hw_qemu_guest_agent", "maybe"), ("hw_vif_model", "vmxnet9"), ("os_type", "plan9")])
def test_a_value_nova_does_not_know_is_refused_by_name(name, value):
    with pytest.raises(InvalidImageProperty) as refused:
        guest_hardware({name: value}, 1)
    assert f"{name}={value}" in str(refused.value)


def test_only_the_virtio_scsi_controller_is_offered():
    with pytest.raises(InvalidImageProperty, match="hw_scsi_model=lsilogic"):
        guest_hardware({"hw_disk_bus": "scsi", "hw_scsi_model": "lsilogic"}, 1)
    assert guest_hardware({"hw_scsi_model": "lsilogic"}, 1).disk_bus == "virtio"


def test_ide_is_refused_on_a_q35_machine():
    with pytest.raises(InvalidImageProperty, match="hw_disk_bus=ide.*no IDE bus"):
        guest_hardware({"hw_disk_bus": "ide"}, 1, machine_type="pc-q35-7.2")
    assert guest_hardware({"hw_disk_bus": "ide"}, 1, machine_type="pc").disk_bus == "ide"


@pytest.mark.parametrize("properties, vcpus, topology", [
    ({"hw_cpu_sockets": "2", "hw_cpu_cores": "2"}, 4, CpuTopology(2, 2, 1)),
    ({"hw_cpu_sockets": "2"}, 4, CpuTopology(2, 2, 1)),
    ({"hw_cpu_cores": "4"}, 4, CpuTopology(1, 4, 1)),
    ({"hw_cpu_threads": "2"}, 4, CpuTopology(2, 1, 2)),
    ({"hw_cpu_max_sockets": "1"}, 2, CpuTopology(1, 2, 1)),
    ({"hw_cpu_max_sockets": "2"}, 8, CpuTopology(2, 4, 1)),
])
def test_a_cpu_topology_fills_in_what_the_image_leaves_out(properties, vcpus, topology):
    assert guest_hardware(properties, vcpus).cpu_topology == topology


@pytest.mark.parametrize("properties, vcpus, words", [
    ({"hw_cpu_sockets": "2", "hw_cpu_cores": "2"}, 2, "hw_cpu_sockets=2, hw_cpu_cores=2"),
    ({"hw_cpu_sockets": "2"}, 3, "2 sockets x 1 cores x 1 threads"),
    ({"hw_cpu_sockets": "4", "hw_cpu_max_sockets": "2"}, 4, "more than hw_cpu_max_sockets"),
    ({"hw_cpu_max_sockets": "1", "hw_cpu_max_cores": "1"}, 2, "hw_cpu_max_cores=1"),
    ({"hw_cpu_cores": "0"}, 1, "hw_cpu_cores=0"),
    ({"hw_cpu_threads": "two"}, 2, "hw_cpu_threads=two"),
])
def test_a_topology_that_cannot_make_the_vcpus_is_refused(properties, vcpus, words):
    with pytest.raises(InvalidImageProperty) as refused:
        guest_hardware(properties, vcpus)
    assert words in str(refused.value)


def test_the_disk_names_follow_the_bus_as_novas():
    assert local_disks(1, 512, "virtio").names() == ["vda", "vdb", "vdc"]
    assert local_disks(1, 0, "scsi").names() == ["sda", "sdb"]
    assert local_disks(1, 512, "ide").names() == ["hda", "hdb", "hdc"]
    assert local_disks(0, 0, "usb").names() == ["sda"]


def test_the_config_drive_takes_a_free_name_on_its_bus():
    assert config_drive_device("ide", local_disks(1, 0, "ide")) == "hdd"
    assert config_drive_device("scsi", local_disks(1, 0, "scsi")) == "sdc"
    assert config_drive_device("sata", local_disks(1, 0, "virtio")) == "sda"
