"""Volume service benchmark: prints one JSON document of figures.

    .venv/bin/python -m bench.volume_io [--image-mib 1024] [--io-mib 512]

Starts a stack of its own (temporary state directory, shifted ports), then:
- create-from-image: uploads an image of --image-mib random bytes to imaged
  (raw, and the same data as qcow2), and times POST /volumes with imageRef
  until the volume is available (download + checksum + qemu-img convert);
- iSCSI throughput: attaches a volume (real CHAP, real tgtd) and measures
  sequential write then read MB/s with qemu-io through QEMU's own iSCSI
  initiator, the one VMs use, against the same qemu-io on the volume's raw
  file directly (O_DIRECT, no page cache), the ceiling iSCSI can approach.
Figures only; it asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from shared.units import MiB
from tests.stack import Stack, port_offset_for


def random_file(path: Path, size_mib: int) -> None:
    block = os.urandom(4 * MiB)
    with open(path, "wb") as handle:
        for _ in range(size_mib // 4):
            handle.write(block[: 4 * MiB - 1] + os.urandom(1))  # not one repeated block


class Volumes:
    def __init__(self, stack: Stack):
        login = stack.login("admin")
        login.raise_for_status()
        self.token = login.headers["X-Subject-Token"]
        self.project = login.json()["token"]["project"]["id"]
        self.base = f"{stack.url('volumed')}/v3/{self.project}"
        self.images = stack.url("imaged") + "/v2/images"
        self.session = requests.Session()
        self.session.headers.update({"X-Auth-Token": self.token,
                                     "OpenStack-API-Version": "volume 3.44"})

    def upload_image(self, path: Path, disk_format: str) -> str:
        created = self.session.post(self.images, json={
            "name": f"bench-{disk_format}", "disk_format": disk_format,
            "container_format": "bare"})
        created.raise_for_status()
        image_id = created.json()["id"]
        with open(path, "rb") as data:
            self.session.put(f"{self.images}/{image_id}/file", data=data, headers={
                "Content-Type": "application/octet-stream"}).raise_for_status()
        return image_id

    def create(self, size_gib: int, **fields) -> str:
        response = self.session.post(f"{self.base}/volumes", json={"volume": {
            "size": size_gib, **fields}})
        if response.status_code != 202:
            raise RuntimeError(f"volume create: {response.status_code} {response.text}")
        return response.json()["volume"]["id"]

    def wait_available(self, volume_id: str) -> None:
        while True:
            status = self.session.get(f"{self.base}/volumes/{volume_id}").json()["volume"][
                "status"]
            if status == "available":
                return
            if status.startswith("error"):
                raise RuntimeError(f"volume {volume_id} went to {status}")
            time.sleep(0.05)

    def attach(self, volume_id: str, initiator: str) -> tuple[str, dict]:
        response = self.session.post(f"{self.base}/attachments", json={"attachment": {
            "volume_uuid": volume_id, "instance_uuid": None,
            "connector": {"initiator": initiator, "ip": "127.0.0.1", "host": "bench"}}})
        response.raise_for_status()
        attachment = response.json()["attachment"]
        return attachment["id"], attachment["connection_info"]

    def detach(self, attachment_id: str) -> None:
        self.session.delete(f"{self.base}/attachments/{attachment_id}").raise_for_status()

    def delete(self, volume_id: str) -> None:
        self.session.delete(f"{self.base}/volumes/{volume_id}")


def create_from_image_seconds(volumes: Volumes, image_id: str, size_gib: int) -> float:
    started = time.perf_counter()
    volume_id = volumes.create(size_gib, imageRef=image_id)
    volumes.wait_available(volume_id)
    elapsed = time.perf_counter() - started
    volumes.delete(volume_id)
    return elapsed


def qemu_io_rate(target: list[str], write: bool, io_mib: int) -> float:
    """MB/s of sequential 16 MiB requests through qemu-io (which, unlike
    `qemu-img bench`, takes the CHAP secret as a --object). Each request
    reports its own time; the figure is the total over their sum."""
    chunk = 16
    commands = []
    for index in range(max(1, io_mib // chunk)):
        offset = f"{index * chunk}M"
        commands += ["-c", f"write -P 0xa5 {offset} {chunk}M" if write
                     else f"read {offset} {chunk}M"]
    result = subprocess.run(["qemu-io", *target[:-1], *commands, target[-1]],
                            capture_output=True, text=True, check=True)
    seconds = sum(_seconds(found) for found in
                  re.findall(r"ops; ([0-9:.]+) sec", result.stdout))
    return round((len(commands) // 2) * chunk / seconds, 1)


def _seconds(text: str) -> float:
    total = 0.0
    for part in text.split(":"):
        total = total * 60 + float(part)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image-mib", type=int, default=1024)
    parser.add_argument("--io-mib", type=int, default=512)
    args = parser.parse_args()
    figures: dict = {"image_mib": args.image_mib, "io_mib": args.io_mib,
                     "request_mib": 16}
    with tempfile.TemporaryDirectory(prefix="pocketstack-bench-") as work:
        work_dir = Path(work)
        stack = Stack(work_dir / "state", port_offset_for("gw40"))
        up = stack.up()
        if up.returncode != 0:
            raise SystemExit(up.stdout + up.stderr)
        try:
            volumes = Volumes(stack)
            size_gib = max(1, -(-args.image_mib // 1024))
            raw = work_dir / "image.raw"
            random_file(raw, args.image_mib)
            qcow2 = work_dir / "image.qcow2"
            subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw),
                            str(qcow2)], check=True)
            for disk_format, path in (("raw", raw), ("qcow2", qcow2)):
                image_id = volumes.upload_image(path, disk_format)
                figures[f"create_from_{disk_format}_image_seconds"] = round(
                    create_from_image_seconds(volumes, image_id, size_gib), 2)
            raw.unlink()
            qcow2.unlink()

            volume_id = volumes.create(max(1, -(-args.io_mib // 1024)))
            volumes.wait_available(volume_id)
            volume_file = stack.state_dir / "lib" / "volumes" / f"volume-{volume_id}"
            direct = ["-f", "raw", "-t", "none", str(volume_file)]
            figures["raw_file_write_mb_s"] = qemu_io_rate(direct, True, args.io_mib)
            figures["raw_file_read_mb_s"] = qemu_io_rate(direct, False, args.io_mib)

            initiator = "iqn.2004-10.org.pocketstack:bench"
            attachment_id, info = volumes.attach(volume_id, initiator)
            secret = work_dir / "chap-secret"
            secret.touch(mode=0o600)
            secret.write_text(info["auth_password"])
            options = ",".join([
                "driver=iscsi", "transport=tcp", f"portal={info['target_portal']}",
                f"target={info['target_iqn']}", f"lun={info['target_lun']}",
                f"user={info['auth_username']}", "password-secret=chap",
                f"initiator-name={initiator}"])
            iscsi = ["--object", f"secret,id=chap,file={secret}", "--image-opts", options]
            figures["iscsi_write_mb_s"] = qemu_io_rate(iscsi, True, args.io_mib)
            figures["iscsi_read_mb_s"] = qemu_io_rate(iscsi, False, args.io_mib)
            volumes.detach(attachment_id)
            volumes.delete(volume_id)
        finally:
            stack.down()
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
