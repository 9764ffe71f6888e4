"""The demo's flow: the life of a server, from an image to what terminate frees.

    1. image        the tiny image registered: queued, its bytes uploaded, active
    2. flavor       m1.nano chosen, and what each of its numbers becomes
    3. volume       a 1 GiB volume: creating, then available (an iSCSI target)
    4. launch       a key pair, then a server on the project's network:
                    BUILD, ACTIVE, its DHCP lease, SSH
    5. attach       the volume becomes the guest's vdc, over iSCSI with CHAP
    6. inside       vda, vdb and vdc as the guest sees them, a marker written
                    to vdc; vda on the host: a copy-on-write overlay
    7. snapshot     the running server's vda becomes a new image
    8. terminate    the server deleted: its domain and instance directory go
    9. what is left the image, the volume and the snapshot stay; the host's
                    vCPUs, RAM and disk before, with the server, and after
    then            everything the demo made is deleted, newest first

Everything goes through the public REST APIs as the demo user (the admin
only reads os-hypervisors); the host is only looked at. Each resource is
pushed on the undo list the moment it exists, so a failure or Ctrl-C at
any point still leaves the stack as the demo found it.
"""
from __future__ import annotations

import secrets
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import requests

from computed.imagecache import cache_name
from labs.tinyimage import build
from pocketstack.cloud import Cloud, CloudError
from pocketstack.demo import guest, hostview
from pocketstack.demo.hostview import Usage
from pocketstack.demo.narration import Narrator, WaitFailed, openstack, openstack_admin
from pocketstack.demo.undo import Undo
from pocketstack.tinyimage import LOGIN_USER, image_cache_dir
from shared.paths import StateLayout

STEPS = 9
FLAVOR = "m1.nano"
VOLUME_GB = 1
UPLOAD_TIMEOUT = 300.0
ACTIVE_TIMEOUT = 300.0       # TCG on a busy machine: generous
SSH_TIMEOUT = 300.0
VOLUME_TIMEOUT = 180.0
SNAPSHOT_TIMEOUT = 300.0
GONE_TIMEOUT = 180.0
GUEST_DISK_TIMEOUT = 60.0


class DemoFailed(RuntimeError):
    """A step could not be done; the message says which and why."""


class Names:
    """The demo's resources, named so a class recognises them, with a tag
    of their own so that two demos on one stack do not collide."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(2)
        self.image = f"demo-image-{self.tag}"
        self.volume = f"demo-volume-{self.tag}"
        self.key = f"demo-key-{self.tag}"
        self.vm = f"demo-vm-{self.tag}"
        self.snapshot = f"demo-snapshot-{self.tag}"


@dataclass
class Demo:
    """One run of the demo: who acts, where it prints, what it made."""
    user: Cloud
    admin: Cloud
    state: StateLayout
    namespace: str
    tell: Narrator
    undo: Undo
    names: Names = field(default_factory=Names)
    usage: dict[str, Usage] = field(default_factory=dict)
    image: dict = field(default_factory=dict)
    flavor: dict = field(default_factory=dict)
    volume: dict = field(default_factory=dict)
    server: dict = field(default_factory=dict)
    snapshot: dict = field(default_factory=dict)
    key_file: Path | None = None
    ssh: paramiko.SSHClient | None = None

    def run(self) -> None:
        """The steps in order; the caller runs the undo list afterwards."""
        self.usage["before"] = Usage.read(self.admin)
        self.register_image()       # 1
        self.choose_flavor()        # 2
        self.create_volume()        # 3
        self.launch()               # 4
        self.attach_volume()        # 5
        self.look_inside()          # 6
        self.take_snapshot()        # 7
        self.terminate()            # 8
        self.show_what_is_left()    # 9

    # 1 ---------------------------------------------------------------
    def register_image(self) -> None:
        name = self.names.image
        self.tell.step(
            "register an image",
            "An image is a disk that servers boot from. imaged (Glance) first records "
            "it: status queued, no data yet. Then its bytes are uploaded (status saving) "
            "and it becomes active once imaged has stored them and computed their "
            "checksum. This one is PocketStack's tiny image: a Debian kernel and a "
            "busybox initramfs in a few MB of qcow2.",
            openstack("image create --disk-format qcow2 --container-format bare",
                      f"--file tiny.qcow2 {name}"))
        with self.tell.progress.waiting("building the tiny image (cached after the first time)"):
            path = build(image_cache_dir(self.state))
        created = self._ok(self.user.post("image", "/v2/images", {
            "name": name, "disk_format": "qcow2", "container_format": "bare",
            "visibility": "private", "min_ram": 64, "os_admin_user": LOGIN_USER}),
            "creating the image record", 201)
        self.image = created.json()
        image_id = self.image["id"]
        self.undo.push(f"image {name}", lambda: self._delete_image(image_id))
        self.tell.result(f"image {image_id}: status {self.image['status']} (a record, no data)")
        self.tell.events()
        size = path.stat().st_size
        with self.tell.progress.transfer(f"uploading {path.name} (status saving)", size) \
                as sent, path.open("rb") as data:
            answer = self.user.http.put(
                self.user.url("image", f"/v2/images/{image_id}/file"),
                data=sent.reading(data), timeout=UPLOAD_TIMEOUT,
                headers={"Content-Type": "application/octet-stream"})
        self._ok(answer, "uploading the image's data", 204)
        self.image = self._ok(self.user.get("image", f"/v2/images/{image_id}"),
                              "reading the image").json()
        self.tell.result(f"status {self.image['status']}: {self.image['size']} bytes, "
                         f"disk_format {self.image['disk_format']}, container_format "
                         f"{self.image['container_format']}, md5 {self.image['checksum']}")
        self.tell.result("status flow: queued -> saving -> active")
        self.tell.events()

    # 2 ---------------------------------------------------------------
    def choose_flavor(self) -> None:
        self.tell.step(
            "choose a flavor",
            "A flavor is the size of a server: how many virtual CPUs, how much RAM, how "
            "big its root disk and its ephemeral disk are. Only an admin defines "
            "flavors; users pick one.",
            openstack("flavor list"), openstack(f"flavor show {FLAVOR}"))
        flavors = self._ok(self.user.get("compute", "/flavors/detail"),
                           "listing the flavors").json()["flavors"]
        self.tell.say(f"  {'flavor':<12}{'vCPUs':>6}{'RAM MiB':>9}{'disk GiB':>10}"
                      f"{'ephemeral':>11}")
        for flavor in sorted(flavors, key=lambda f: (f["vcpus"], f["ram"], f["disk"])):
            self.tell.say(f"  {flavor['name']:<12}{flavor['vcpus']:>6}{flavor['ram']:>9}"
                          f"{flavor['disk']:>10}{flavor.get('OS-FLV-EXT-DATA:ephemeral', 0):>11}")
        wanted = [f for f in flavors if f["name"] == FLAVOR]
        if not wanted:
            raise DemoFailed(f"no flavor {FLAVOR} (openstack flavor list)")
        self.flavor = flavor = wanted[0]
        ephemeral = flavor.get("OS-FLV-EXT-DATA:ephemeral", 0)
        self.tell.result(f"{FLAVOR}: {flavor['vcpus']} vCPU = the guest's processors (QEMU "
                         "threads on the host)")
        self.tell.result(f"{flavor['ram']} MiB RAM = the guest's memory, taken from the host's")
        self.tell.result(f"{flavor['disk']} GiB root disk = vda, a copy-on-write overlay "
                         "on the image grown to this size")
        self.tell.result(f"{ephemeral} GiB ephemeral disk = vdb, scratch space that dies "
                         "with the server")
        self.tell.result(f"swap: {flavor.get('swap') or 'none'}")

    # 3 ---------------------------------------------------------------
    def create_volume(self) -> None:
        name = self.names.volume
        self.tell.step(
            "create a volume",
            "A volume is block storage that lives on its own, independent of any "
            "server. volumed (Cinder) makes a logical unit and exports it as an iSCSI "
            "target in tgtd: status creating, then available.",
            openstack(f"volume create --size {VOLUME_GB} {name}"))
        answer = self._ok(self.user.post("block-storage", "/volumes", {"volume": {
            "size": VOLUME_GB, "name": name, "description": "made by pocketstack demo"}}),
            "creating the volume", 202)
        volume_id = answer.json()["volume"]["id"]
        self.undo.push(f"volume {name}", lambda: self._delete_volume(volume_id))
        self.tell.result(f"volume {volume_id}: status {answer.json()['volume']['status']}")
        self.volume = self.tell.wait_for(
            f"volume {name} to be available",
            lambda: self._volume_in(volume_id, "available"), VOLUME_TIMEOUT,
            lambda: self._volume(volume_id)["status"])
        self.tell.result(f"status available: {self.volume['size']} GiB, an iSCSI target "
                         "that only an initiator with its CHAP password may log in to")

    # 4 ---------------------------------------------------------------
    def launch(self) -> None:
        key_name, name = self.names.key, self.names.vm
        network = self._network()
        self.tell.step(
            "launch a server",
            "First a key pair: computed keeps the public half and gives the private half "
            "once, to log in with. Then the server: computed claims the flavor's vCPUs "
            "and RAM on the host, makes a port on the network, brings the image into "
            "its cache, makes the disks and starts a libvirt domain (QEMU). BUILD, then "
            "ACTIVE; then the guest boots, gets its address by DHCP and starts SSH.",
            openstack(f"keypair create {key_name} > {key_name}.pem"),
            openstack(f"server create --image {self.names.image} --flavor {FLAVOR}",
                      f"--network {network['name']} --key-name {key_name} --wait {name}"))
        answer = self._ok(self.user.post("compute", "/os-keypairs",
                                         {"keypair": {"name": key_name}}),
                          "creating the key pair", 200)
        self.undo.push(f"key pair {key_name}", lambda: self._delete_key(key_name))
        self.key_file = _private_key_file(answer.json()["keypair"]["private_key"])
        self.tell.result(f"key pair {key_name}: private key written to a file only you "
                         "can read (mode 0600)")
        answer = self._ok(self.user.post("compute", "/servers", {"server": {
            "name": name, "imageRef": self.image["id"], "flavorRef": self.flavor["id"],
            "key_name": key_name, "networks": [{"uuid": network["id"]}]}}),
            "creating the server", 202)
        server_id = answer.json()["server"]["id"]
        self.undo.push(f"server {name}", lambda: self._delete_server(server_id))
        self.tell.result(f"server {server_id}: status BUILD")
        self.server = self.tell.wait_for(f"server {name} to be ACTIVE",
                                         lambda: self._active(server_id), ACTIVE_TIMEOUT,
                                         lambda: self._server_status(server_id))
        self.usage["with the server"] = Usage.read(self.admin)
        self.tell.result(f"status ACTIVE: the domain runs (the guest is still booting); "
                         f"instance directory {hostview.instance_dir(self.state, server_id)}")
        with self.tell.progress.waiting(f"server {name} to answer SSH") as wait:
            self.ssh = guest.reach(self.user, server_id, self.namespace, self.key_file, wait,
                                   self.tell.say, SSH_TIMEOUT)
        self.tell.events()

    # 5 ---------------------------------------------------------------
    def attach_volume(self) -> None:
        volume_id, server_id = self.volume["id"], self.server["id"]
        self.tell.step(
            "attach the volume",
            "computed asks volumed for an attachment: volumed lets this host's iSCSI "
            "initiator into the target, with a CHAP user and password. computed keeps "
            "the password in a libvirt secret and hot-plugs a disk whose source is the "
            "iSCSI target: QEMU itself logs in to tgtd. The guest sees a new disk, vdc.",
            openstack(f"server add volume {self.names.vm} {self.names.volume}"))
        answer = self._ok(self.user.post(
            "compute", f"/servers/{server_id}/os-volume_attachments",
            {"volumeAttachment": {"volumeId": volume_id}}), "attaching the volume", 200)
        device = answer.json()["volumeAttachment"].get("device")
        self.tell.wait_for(f"volume {self.names.volume} to be in-use",
                           lambda: self._volume_in(volume_id, "in-use"), VOLUME_TIMEOUT,
                           lambda: self._volume(volume_id)["status"])
        self.tell.result(f"attached as {device}; volume status in-use")
        disk = (device or "/dev/vdc").rsplit("/", 1)[-1]
        assert self.ssh is not None
        ssh = self.ssh
        self.tell.wait_for(  # the guest's kernel notices a hot-plugged disk a moment later
            f"the guest to see {disk}",
            lambda: guest.run(ssh, f"grep -qw {disk} /proc/partitions")[0] == 0,
            GUEST_DISK_TIMEOUT)
        for line in hostview.iscsi_sources(self.state, server_id):
            self.tell.result(f"the domain's disk: {line}")

    # 6 ---------------------------------------------------------------
    def look_inside(self) -> None:
        assert self.ssh is not None and self.key_file is not None
        server_id = self.server["id"]
        self.tell.step(
            "look inside the guest",
            "Over SSH, the guest's own view of its disks: vda (root, from the image), vdb "
            "(ephemeral), vdc (the volume). Then, on the host, what vda really is: a "
            "small qcow2 file whose backing file is the cached image, which nobody "
            "writes: copy-on-write.",
            f"pocketstack ssh {self.names.vm} -i {self.names.key}.pem -- cat /proc/partitions",
            f"qemu-img info -U <instances_path>/{server_id}/disk")
        status, output = guest.run(self.ssh, "cat /proc/partitions")
        self.tell.say("  guest$ cat /proc/partitions")
        for line in output.splitlines():
            self.tell.say(f"    {line}")
        status, output = guest.run(
            self.ssh, "for d in /sys/block/vd*; do echo ${d##*/} $(cat $d/size); done")
        roles = {"vda": "root disk, copy-on-write on the image",
                 "vdb": "ephemeral disk, dies with the server",
                 "vdc": "the volume, over iSCSI"}
        for line in output.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[1].isdigit():
                gib = int(fields[1]) * 512 / 2**30
                self.tell.result(f"{fields[0]}: {gib:.1f} GiB  ({roles.get(fields[0], '?')})")
        marker = f"written by pocketstack demo {self.names.tag}"
        status, output = guest.run(
            self.ssh, f"echo '{marker}' | dd of=/dev/vdc bs=512 count=1 conv=sync "
                      "2>/dev/null && sync && dd if=/dev/vdc bs=512 count=1 2>/dev/null "
                      "| head -n 1")
        if status != 0 or marker not in output:
            raise DemoFailed(f"writing a marker to vdc failed: {output.strip()}")
        self.tell.say(f"  guest$ echo '{marker}' | dd of=/dev/vdc ...")
        self.tell.result(f"vdc now holds: {marker}")
        disk = hostview.disk_info(hostview.instance_dir(self.state, server_id) / "disk")
        if disk:
            self.tell.result(f"vda on the host: {disk.get('format')} file of "
                             f"{disk.get('actual-size', 0) // 1024} KiB, virtual size "
                             f"{disk.get('virtual-size', 0) // 2**30} GiB, backing file "
                             f"{disk.get('backing-filename', '?')}")
            self.tell.result("the guest's writes go into that small file; the cached "
                             "image behind it stays untouched (copy-on-write)")
        local = hostview.disk_info(hostview.instance_dir(self.state, server_id) / "disk.local")
        if local:
            self.tell.result(f"vdb on the host: disk.local, backing file "
                             f"{local.get('backing-filename', '?')} (a formatted template)")
        self.ssh.close()
        self.ssh = None

    # 7 ---------------------------------------------------------------
    def take_snapshot(self) -> None:
        name, server_id = self.names.snapshot, self.server["id"]
        self.tell.step(
            "snapshot the running server",
            "A snapshot copies vda as it is at one instant into a new image, while the "
            "guest keeps running. Only vda: the ephemeral vdb and the volume vdc are not "
            "part of it. The new image goes through the same statuses as an upload.",
            openstack(f"server image create --name {name} --wait {self.names.vm}"))
        answer = self._ok(self.user.post("compute", f"/servers/{server_id}/action",
                                         {"createImage": {"name": name}}),
                          "asking for a snapshot", 202)
        image_id = answer.headers.get("Location", "").rstrip("/").rsplit("/", 1)[-1]
        if not image_id:
            raise DemoFailed("the snapshot's answer has no Location header")
        self.undo.push(f"snapshot {name}", lambda: self._delete_image(image_id))
        self.snapshot = self.tell.wait_for(
            f"snapshot {name} to be active", lambda: self._image_active(image_id),
            SNAPSHOT_TIMEOUT, lambda: self._image(image_id).get("status", "?"))
        self.tell.result(f"image {image_id}: status active, {self.snapshot['size']} bytes, "
                         f"image_type {self.snapshot.get('image_type')}, from server "
                         f"{self.snapshot.get('instance_uuid')}")

    # 8 ---------------------------------------------------------------
    def terminate(self) -> None:
        name, server_id = self.names.vm, self.server["id"]
        self.tell.step(
            "terminate the server",
            "Deleting a server stops its domain, detaches its volumes, deletes its port "
            "and its instance directory (vda, vdb, the config drive) and gives its vCPUs "
            "and RAM back to the host. What has a life of its own stays.",
            openstack(f"server delete --wait {name}"))
        self._ok(self.user.delete("compute", f"/servers/{server_id}"), "deleting the server",
                 204)
        self._wait_gone("compute", f"/servers/{server_id}", f"server {name} to be gone")
        self.undo.forget(f"server {name}")
        self.usage["after"] = Usage.read(self.admin)
        self.tell.result(f"server {server_id}: deleted")

    # 9 ---------------------------------------------------------------
    def show_what_is_left(self) -> None:
        server_id = self.server["id"]
        self.tell.step(
            "what is left, and what was freed",
            "The host's resources as the admin sees them (os-hypervisors), before the "
            "launch, while the server ran and after terminate; then what is still there.",
            openstack_admin("hypervisor list --long"),
            openstack("image list"), openstack("volume list"))
        for row in hostview.usage_table(self.usage):
            self.tell.say(row)
        before, after = self.usage["before"], self.usage["after"]
        freed = [f"{self.flavor['vcpus']} vCPU", f"{self.flavor['ram']} MiB RAM",
                 f"{self.flavor['disk'] + self.flavor.get('OS-FLV-EXT-DATA:ephemeral', 0)}"
                 " GiB disk"]
        back = (before.vcpus_used, before.memory_mb_used, before.local_gb_used) == \
            (after.vcpus_used, after.memory_mb_used, after.local_gb_used)
        self.tell.result(f"freed: {', '.join(freed)}"
                         + (" (back to where they were)" if back else ""))
        directory = hostview.instance_dir(self.state, server_id)
        self.tell.result(f"freed: the instance directory {directory} "
                         + ("is gone" if not directory.exists() else "IS STILL THERE"))
        self.tell.result("freed: the libvirt domain "
                         + ("is gone" if not hostview.domain_exists(self.state, server_id)
                            else "IS STILL THERE"))
        image = self._image(self.image["id"])
        self.tell.result(f"kept: image {self.names.image} ({image.get('status')})")
        base = hostview.base_dir(self.state) / cache_name(self.image["id"])
        self.tell.result(f"kept: its cached copy {base.name} in _base "
                         + ("(the next server starts without a download)" if base.exists()
                            else "(not found)"))
        volume = self._volume(self.volume["id"])
        self.tell.result(f"kept: volume {self.names.volume} ({volume['status']}, attached to "
                         f"{len(volume.get('attachments', []))} servers)")
        head = hostview.volume_head(self.state, self.volume["id"])
        if head is not None:
            self.tell.result(f"on the host its file volume-{self.volume['id'][:8]}... still "
                             f"starts with: {head}")
        snapshot = self._image(self.snapshot["id"])
        self.tell.result(f"kept: snapshot {self.names.snapshot} ({snapshot.get('status')})")
        self.tell.events()

    # helpers ---------------------------------------------------------
    def _ok(self, answer: requests.Response, what: str, status: int = 200
            ) -> requests.Response:
        if answer.status_code != status:
            raise DemoFailed(f"{what} failed: HTTP {answer.status_code} {answer.text[:300]}")
        return answer

    def _network(self) -> dict:
        """The project's own network (not an external one), `private` if there."""
        networks = [n for n in self._ok(self.user.get("network", "/v2.0/networks"),
                                        "listing the networks").json()["networks"]
                    if not n.get("router:external")]
        if not networks:
            raise DemoFailed("the demo project has no network (openstack network list)")
        return sorted(networks, key=lambda n: n["name"] != "private")[0]

    def _server_status(self, server_id: str) -> str:
        server = self.user.get("compute", f"/servers/{server_id}").json().get("server", {})
        task = server.get("OS-EXT-STS:task_state")
        return f"{server.get('status', '?')}" + (f" / {task}" if task else "")

    def _active(self, server_id: str) -> dict | None:
        server = self._ok(self.user.get("compute", f"/servers/{server_id}"),
                          "reading the server").json()["server"]
        if server["status"] == "ERROR":
            raise DemoFailed(f"the server failed: {(server.get('fault') or {}).get('message')}")
        return server if server["status"] == "ACTIVE" else None

    def _volume(self, volume_id: str) -> dict:
        return self._ok(self.user.get("block-storage", f"/volumes/{volume_id}"),
                        "reading the volume").json()["volume"]

    def _volume_in(self, volume_id: str, status: str) -> dict | None:
        volume = self._volume(volume_id)
        if volume["status"] == "error":
            raise DemoFailed(f"volume {volume_id} went to error")
        return volume if volume["status"] == status else None

    def _image(self, image_id: str) -> dict:
        answer = self.user.get("image", f"/v2/images/{image_id}")
        return answer.json() if answer.status_code == 200 else {}

    def _image_active(self, image_id: str) -> dict | None:
        image = self._image(image_id)
        if image.get("status") in ("killed", "deleted", None):
            raise DemoFailed(f"image {image_id} is {image.get('status', 'gone')}")
        return image if image["status"] == "active" else None

    def _wait_gone(self, service_type: str, path: str, what: str) -> None:
        def gone() -> bool:
            return self.user.get(service_type, path).status_code == 404
        self.tell.wait_for(what, gone, GONE_TIMEOUT)

    # undo steps --------------------------------------------------------
    def _delete_server(self, server_id: str) -> None:
        if self.ssh is not None:
            self.ssh.close()
        answer = self.user.delete("compute", f"/servers/{server_id}")
        if answer.status_code not in (204, 404):
            raise CloudError(f"HTTP {answer.status_code}")
        _until(lambda: self.user.get("compute", f"/servers/{server_id}").status_code == 404)

    def _delete_volume(self, volume_id: str) -> None:
        path = f"/volumes/{volume_id}"

        def settled() -> bool:   # not attached, not being attached or detached
            answer = self.user.get("block-storage", path)
            return answer.status_code == 404 or answer.json()["volume"]["status"] in (
                "available", "error")
        _until(settled)
        answer = self.user.delete("block-storage", path)
        if answer.status_code not in (202, 404):
            raise CloudError(f"HTTP {answer.status_code} {answer.text[:200]}")
        _until(lambda: self.user.get("block-storage", path).status_code == 404)

    def _delete_image(self, image_id: str) -> None:
        answer = self.user.delete("image", f"/v2/images/{image_id}")
        if answer.status_code not in (204, 404):
            raise CloudError(f"HTTP {answer.status_code} {answer.text[:200]}")

    def _delete_key(self, name: str) -> None:
        if self.key_file is not None:
            self.key_file.unlink(missing_ok=True)
            self.key_file.parent.rmdir()
            self.key_file = None
        answer = self.user.delete("compute", f"/os-keypairs/{name}")
        if answer.status_code not in (202, 204, 404):
            raise CloudError(f"HTTP {answer.status_code}")


def _private_key_file(pem: str) -> Path:
    """The private key in a new directory only this user can enter."""
    directory = Path(tempfile.mkdtemp(prefix="pocketstack-demo-"))
    path = directory / "key.pem"
    path.touch(0o600)
    path.write_text(pem)
    return path


def _until(test, timeout: float = GONE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise WaitFailed(f"not done after {timeout:.0f} s")
        time.sleep(1)
