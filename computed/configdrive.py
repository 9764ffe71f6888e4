"""The config drive: how a guest learns who it is without a network.

An ISO9660 image labelled config-2 (what cloud-init and the tiny image look
for), attached as an IDE cdrom, holding what Nova's metadata service would
serve:

    openstack/latest/meta_data.json     uuid, name, hostname, public_keys, meta ...
    openstack/latest/user_data          the server's user_data, as given
    openstack/latest/network_data.json  (empty here: no network service)
    openstack/latest/vendor_data.json   (empty)

It is built with genisoimage exactly as Nova builds it, into
<instance dir>/disk.config.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

LABEL = "config-2"
PUBLISHER = "PocketStack"


class ConfigDriveError(Exception):
    pass


def meta_data(*, uuid: str, name: str, hostname: str, project_id: str,
              availability_zone: str, launch_index: int, metadata: dict[str, str],
              key_name: str | None, public_key: str | None) -> dict:
    """openstack/latest/meta_data.json, in Nova's shape."""
    document = {
        "uuid": uuid, "name": name, "hostname": hostname,
        "launch_index": launch_index, "availability_zone": availability_zone,
        "project_id": project_id, "meta": dict(metadata), "devices": [],
        "random_seed": base64.b64encode(os.urandom(512)).decode(),
    }
    if key_name and public_key:
        document["public_keys"] = {key_name: public_key}
        document["keys"] = [{"name": key_name, "type": "ssh", "data": public_key}]
    return document


def _iso_tool() -> list[str]:
    if shutil.which("genisoimage"):
        return ["genisoimage"]
    if shutil.which("xorriso"):
        return ["xorriso", "-as", "mkisofs"]
    raise ConfigDriveError("neither genisoimage nor xorriso is installed "
                           "(Debian package genisoimage)")


def build(target: Path, meta: dict, user_data: bytes | None) -> None:
    """Write the config drive ISO to `target`."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".configdrive-") as tmp:
        latest = Path(tmp) / "openstack" / "latest"
        latest.mkdir(parents=True)
        (latest / "meta_data.json").write_text(json.dumps(meta))
        (latest / "network_data.json").write_text(
            json.dumps({"links": [], "networks": [], "services": []}))
        (latest / "vendor_data.json").write_text("{}")
        (latest / "vendor_data2.json").write_text("{}")
        if user_data is not None:
            (latest / "user_data").write_bytes(user_data)
        command = [*_iso_tool(), "-o", str(target), "-ldots", "-allow-lowercase",
                   "-allow-multidot", "-l", "-publisher", PUBLISHER, "-quiet", "-J", "-r",
                   "-V", LABEL, tmp]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise ConfigDriveError(f"building the config drive failed: "
                                   f"{result.stderr.strip()}")
