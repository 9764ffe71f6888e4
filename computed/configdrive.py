"""The config drive: how a guest learns who it is without a network.

An ISO9660 image labelled config-2 (what cloud-init and the tiny image look
for), attached as a cdrom, holding the same documents the metadata service
answers with (computed/metadata/documents.py), laid out as Nova's
ConfigDriveBuilder writes them:

    ec2/2009-04-04/meta-data.json, ec2/latest/meta-data.json   the EC2 meta-data
    ec2/<version>/user-data                                    (if any)
    openstack/<version>/meta_data.json      uuid, name, hostname, public_keys, meta ...
    openstack/<version>/user_data           the server's user_data, as given (if any)
    openstack/<version>/network_data.json   links, networks, services (from Liberty)
    openstack/<version>/vendor_data.json    (from Havana)
    openstack/<version>/vendor_data2.json   (from Newton)
    ... for every OpenStack version from 2012-08-10, and latest

It is built with genisoimage exactly as Nova builds it, into
<instance dir>/disk.config.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

LABEL = "config-2"
PUBLISHER = "PocketStack"
SCRATCH = Path("/dev/shm")


class ConfigDriveError(Exception):
    pass


def _iso_tool() -> list[str]:
    if shutil.which("genisoimage"):
        return ["genisoimage"]
    if shutil.which("xorriso"):
        return ["xorriso", "-as", "mkisofs"]
    raise ConfigDriveError("neither genisoimage nor xorriso is installed "
                           "(Debian package genisoimage)")


def write_tree(root: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """Each (relative path, content) as a file under `root`."""
    for relative, content in files:
        parts = PurePosixPath(relative).parts
        if not parts or ".." in parts or PurePosixPath(relative).is_absolute():
            raise ConfigDriveError(f"not a path inside the config drive: {relative!r}")
        path = root.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def build(target: Path, files: Iterable[tuple[str, bytes]]) -> None:
    """Write the config drive ISO holding `files` to `target`. The tree
    genisoimage reads lives for a moment: it is written to memory (a
    tmpfs) where there is one, not to the instance's disk, where creating
    its fifty-odd files and directories costs a launch tens of ms."""
    with tempfile.TemporaryDirectory(dir=_scratch_for(target), prefix=".configdrive-") as tmp:
        write_tree(Path(tmp), files)
        command = [*_iso_tool(), "-o", str(target), "-ldots", "-allow-lowercase",
                   "-allow-multidot", "-l", "-publisher", PUBLISHER, "-quiet", "-J", "-r",
                   "-V", LABEL, tmp]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise ConfigDriveError(f"building the config drive failed: "
                                   f"{result.stderr.strip()}")


def _scratch_for(target: Path) -> Path:
    """Where the tree is staged: /dev/shm (a tmpfs on Linux), else beside
    `target`. mkdtemp makes the directory 0700 (it holds the user data)."""
    return SCRATCH if SCRATCH.is_dir() and os.access(SCRATCH, os.W_OK) else target.parent
