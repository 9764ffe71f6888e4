"""Nova's and Cinder's own sources, brought from PyPI for the contract tests.

The contract tests compare computed's and volumed's requests and answers with
what the real services document and enforce: Nova's API samples and JSON
schemas, Cinder's API reference samples and request schemas. Nothing of theirs
is kept in this repository: the source distributions are downloaded once
(`make contract-sources`, or the first contract test) into a git-ignored cache
and only the parts the tests read are unpacked.

    python -m tests.contract.sources    download and unpack, print where
"""
from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("POCKETSTACK_CONTRACT_SOURCES", REPO / ".cache" / "openstack-sources"))

NOVA = "nova==34.0.0"
CINDER = "cinder==29.0.0"

# What the tests read of each source distribution (paths inside the sdist).
WANTED = {
    "nova": ("doc/api_samples/", "nova/api/openstack/compute/schemas/",
             "nova/api/validation/", "nova/objects/tag.py", "nova/objects/instance.py",
             "nova/objects/fields.py", "nova/objects/external_event.py",
             "nova/compute/vm_states.py"),
    "cinder": ("api-ref/source/v3/samples/", "cinder/api/schemas/", "cinder/api/validation/",
               "cinder/common/constants.py"),
}
# A file each unpacked tree must hold, or the sdist changed its layout.
MUST_HAVE = {
    "nova": ("doc/api_samples/servers/server-get-resp.json",
             "nova/api/openstack/compute/schemas/servers.py"),
    "cinder": ("api-ref/source/v3/samples/volumes/volume-show-response.json",
               "cinder/api/schemas/volumes.py"),
}


@dataclass(frozen=True)
class Sources:
    nova: Path
    cinder: Path


def fetch(cache: Path = CACHE) -> Sources:
    """Both trees, downloaded and unpacked if not yet in the cache."""
    return Sources(nova=_tree(NOVA, cache), cinder=_tree(CINDER, cache))


def _tree(requirement: str, cache: Path) -> Path:
    name, version = requirement.split("==")
    tree = cache / f"{name}-{version}"
    done = tree / ".unpacked"
    if done.exists():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"{name}-{version}.tar.gz"
    if not archive.exists():
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", requirement, "-d", str(cache)], check=True)
    prefix = f"{name}-{version}/"
    with tarfile.open(archive) as sdist:
        members = [m for m in sdist.getmembers() if m.isfile() and m.name.startswith(prefix)
                   and m.name[len(prefix):].startswith(WANTED[name])]
        sdist.extractall(cache, members=members, filter="data")
    missing = [path for path in MUST_HAVE[name] if not (tree / path).is_file()]
    if missing:
        raise RuntimeError(f"{archive.name} does not carry {', '.join(missing)}: "
                           f"the contract tests need its samples and schemas")
    done.touch()
    return tree


if __name__ == "__main__":
    found = fetch()
    print(f"nova:   {found.nova}\ncinder: {found.cinder}")
