"""Volumes and servers, for real: a volume given at boot is the guest's vdc
over QEMU's own iSCSI initiator (CHAP password in a libvirt secret); what a
first server writes to it is read by a second one after the first is gone;
attach and detach while running; nothing is left once the servers go."""
from __future__ import annotations

import pytest

from tests.support.compute import (
    GIB,
    Volumes,
    b64,
    instances_dir,
    leftovers,
    project_id_of,
    stack_secrets,
    tgt_targets,
    unique,
)

pytestmark = pytest.mark.e2e
MIB = 1024 ** 2


@pytest.fixture(scope="module")
def volumes(stack, demo) -> Volumes:
    return Volumes(stack, demo.token, project_id_of(stack))


def boot_with_volume(demo, volume_id: str, script: str) -> dict:
    made = demo.create(user_data=b64(script), block_device_mapping_v2=[
        {"source_type": "volume", "destination_type": "volume", "uuid": volume_id,
         "boot_index": -1, "delete_on_termination": False}])
    return demo.wait_status(made["id"], "ACTIVE")


def test_volume_data_outlives_the_server_that_wrote_it(stack, demo, volumes):
    volume = volumes.create(size=1)
    marker = unique("pocketstack-marker")
    writer = boot_with_volume(demo, volume["id"], f"""#!/bin/sh
printf '{marker}' | dd of=/dev/vdc bs=512 conv=notrunc 2>/dev/null
sync
echo "wrote the marker"
""")
    # The guest sees the volume as vdc, with its size, beside vda and vdb.
    demo.wait_console(writer["id"], rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB} vdc={GIB}\s*$")
    demo.wait_console(writer["id"], r"^POCKETSTACK-USERDATA: exit=0")
    assert "wrote the marker" in demo.console(writer["id"])

    # While attached: in-use on /dev/vdc, its secret in libvirt, never in files.
    shown = volumes.show(volume["id"])
    assert shown["status"] == "in-use"
    assert shown["attachments"][0]["server_id"] == writer["id"]
    assert shown["attachments"][0]["device"] == "/dev/vdc"
    assert demo.show(writer["id"])["os-extended-volumes:volumes_attached"] == \
        [{"id": volume["id"]}]
    assert stack_secrets(stack) >= 1
    xml = (instances_dir(stack) / writer["id"] / "libvirt.xml").read_text()
    assert "protocol=\"iscsi\"" in xml and "<secret type=\"iscsi\"" in xml
    assert volume["id"] in tgt_targets(stack)

    attachment_secrets = stack_secrets(stack)
    demo.delete(writer["id"])
    volumes.wait(volume["id"], "available")
    assert leftovers(stack, writer["id"], [volume["id"]]) == []
    assert stack_secrets(stack) == attachment_secrets - 1

    reader = boot_with_volume(demo, volume["id"], """#!/bin/sh
echo "read back: $(dd if=/dev/vdc bs=512 count=1 2>/dev/null | tr -d '\\000')"
""")
    demo.wait_console(reader["id"], rf"^read back: {marker}\s*$")
    demo.delete(reader["id"])
    volumes.wait(volume["id"], "available")
    assert leftovers(stack, reader["id"], [volume["id"]]) == []
    volumes.delete(volume["id"])


def test_attach_and_detach_while_running(stack, demo, volumes):
    volume = volumes.create(size=1)
    server = demo.create()
    server = demo.wait_status(server["id"], "ACTIVE")
    booted = demo.wait_console(server["id"], r"^POCKETSTACK-BOOTED\s*$")
    path = f"/servers/{server['id']}/os-volume_attachments"

    attached = demo.call("POST", path, json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert attached.status_code == 200, attached.text
    assert attached.json()["volumeAttachment"] == {
        "id": volume["id"], "serverId": server["id"], "volumeId": volume["id"],
        "device": "/dev/vdc"}
    volumes.wait(volume["id"], "in-use")
    demo.wait_console(server["id"], rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB} vdc={GIB}\s*$")
    assert booted.end() > 0
    listed = demo.call("GET", path).json()["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == [volume["id"]]
    assert demo.call("GET", f"{path}/{volume['id']}").json()["volumeAttachment"]["device"] \
        == "/dev/vdc"
    again = demo.call("POST", path, json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert again.status_code == 400

    assert demo.call("DELETE", f"{path}/{volume['id']}").status_code == 202
    volumes.wait(volume["id"], "available")
    demo.wait_console(server["id"], rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB}\s*$", count=2)
    assert demo.call("GET", path).json()["volumeAttachments"] == []
    assert demo.call("DELETE", f"{path}/{volume['id']}").status_code == 404
    assert volume["id"] not in tgt_targets(stack)
    assert demo.call("POST", path, json={"volumeAttachment": {
        "volumeId": "6d0cc6b4-0000-4000-8000-00000000dead"}}).status_code == 404
    demo.delete(server["id"])
    volumes.delete(volume["id"])


def test_a_volume_attached_to_a_stopped_server_is_there_at_start(stack, demo, volumes):
    """m1.tiny has swap: vdc is the swap disk, so the volume becomes vdd."""
    volume = volumes.create(size=2)
    server = demo.create(flavor="2")
    demo.wait_status(server["id"], "ACTIVE")
    assert demo.action(server["id"], "os-stop", None).status_code == 202
    demo.wait_status(server["id"], "SHUTOFF", task_state=None)
    path = f"/servers/{server['id']}/os-volume_attachments"
    attached = demo.call("POST", path, json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert attached.json()["volumeAttachment"]["device"] == "/dev/vdd"
    volumes.wait(volume["id"], "in-use")
    assert demo.action(server["id"], "os-start", None).status_code == 202
    demo.wait_status(server["id"], "ACTIVE", task_state=None)
    demo.wait_console(server["id"], rf"^POCKETSTACK-DISKS: vda={GIB} vdb={GIB} "
                                    rf"vdc={128 * MIB} vdd={2 * GIB}")
    assert (instances_dir(stack) / server["id"] / "disk.swap").exists()
    demo.delete(server["id"])
    volumes.wait(volume["id"], "available")
    assert leftovers(stack, server["id"], [volume["id"]]) == []
    volumes.delete(volume["id"])
