"""Fetch and unpack Debian packages without installing them.

The tiny image is made of pieces of Debian packages (a kernel, a static
busybox, dropbear and its libraries).  We never install them on the host:
`apt-get download` fetches the .deb and `dpkg -x` unpacks it into a scratch
directory.  Downloaded .debs are kept in a cache directory so that
rebuilding does not download 30 MB again.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

# Debian's kernel for virtual machines, not the generic linux-image-amd64:
# it is LZ4-compressed (the generic one is XZ), and under TCG decompressing
# an XZ kernel alone takes ~3 s of a ~9 s boot; it also has no USB stack
# (whose PCI quirk costs ~0.8 s more).  Its vmlinuz is bigger (14 MB against
# 8 MB), and it has no AHCI driver: SATA disks and cdroms are not seen.
KERNEL_METAPACKAGE = "linux-image-cloud-amd64"


class AptError(RuntimeError):
    """apt could not tell us about, or fetch, a package."""


def _run(argv: list[str], cwd: Path | None = None) -> str:
    """Run a command and return its stdout; raise AptError with its stderr."""
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AptError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def kernel_package() -> str:
    """The versioned kernel package (e.g. linux-image-6.1.0-57-cloud-amd64)
    that the KERNEL_METAPACKAGE metapackage currently points to."""
    out = _run(["apt-cache", "depends", KERNEL_METAPACKAGE])
    match = re.search(r"Depends:\s+(linux-image-\S+-amd64)\b", out)
    if not match:
        raise AptError(f"apt-cache depends {KERNEL_METAPACKAGE} names no kernel "
                       "(run `apt-get update` first?)")
    return match.group(1)


def candidate_versions(*packages: str) -> dict[str, str]:
    """The versions apt would download right now, {package: version}.

    One `apt-cache policy` call for all packages: on machines where apt keeps
    no binary cache (Debian container images) every apt-cache call re-reads
    all package lists, which takes seconds.
    """
    out = _run(["apt-cache", "policy", *packages])
    found: dict[str, str] = {}
    current = None
    for line in out.splitlines():
        if not line.startswith(" ") and line.endswith(":"):  # "busybox-static:"
            current = line[:-1]
        elif current and line.strip().startswith("Candidate:"):
            found[current] = line.split(":", 1)[1].strip()
    for package in packages:
        if found.get(package, "(none)") == "(none)":
            raise AptError(f"apt knows no candidate version of {package} "
                           "(run `apt-get update` first?)")
    return {package: found[package] for package in packages}


def deb_version(deb: Path) -> str:
    """The Version field written inside a .deb file."""
    return _run(["dpkg-deb", "--field", str(deb), "Version"]).strip()


def fetch(package: str, version: str, deb_dir: Path) -> Path:
    """Return a cached .deb of package=version, downloading it if needed.

    The download goes to a temporary directory first and is then renamed
    into the cache, so an interrupted download never looks like a good .deb.
    """
    deb_dir.mkdir(parents=True, exist_ok=True)
    for cached in sorted(deb_dir.glob(f"{package}_*.deb")):
        if deb_version(cached) == version:
            return cached
    with tempfile.TemporaryDirectory(dir=deb_dir, prefix=".download-") as tmp:
        _run(["apt-get", "download", "--quiet", f"{package}={version}"], cwd=Path(tmp))
        debs = list(Path(tmp).glob("*.deb"))
        if len(debs) != 1:
            raise AptError(f"apt-get download {package} produced {debs}")
        target = deb_dir / debs[0].name
        debs[0].replace(target)
    return target


def prune(deb_dir: Path, keep: list[Path]) -> None:
    """Delete cached .debs other than `keep` (older kernels are 27 MB each)."""
    for deb in deb_dir.glob("*.deb"):
        if deb not in keep:
            deb.unlink()


def unpack(deb: Path, dest: Path) -> Path:
    """Unpack a .deb's files (not its scripts) under dest, like dpkg -x."""
    dest.mkdir(parents=True, exist_ok=True)
    _run(["dpkg-deb", "--extract", str(deb), str(dest)])
    return dest
