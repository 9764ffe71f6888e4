"""Find, in unpacked Debian packages, every shared library a dynamically
linked program needs, so that the initramfs can carry them.

busybox is static, but the SSH server (dropbear from Debian) is not: it
needs libc, libcrypt, libtomcrypt ... and the dynamic loader.  Like `ldd`,
we follow DT_NEEDED from the programs to their libraries and from those to
theirs, but we look the sonames up in the unpacked .debs, never on the host,
and read the ELF files without running them (elf.py).  The libraries go to
/lib/x86_64-linux-gnu in the image, a directory Debian's loader searches by
default (no ld.so.cache needed), and the loader is also linked at the path
the programs name as their interpreter (/lib64/ld-linux-x86-64.so.2).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .elf import dynamic_info

# Where Debian's amd64 packages put shared libraries (Debian's multiarch
# layout), relative to the root of an unpacked package.
LIBRARY_DIRS = ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
# Where they go in the image.
IMAGE_LIBRARY_DIR = "lib/x86_64-linux-gnu"


class MissingLibrary(LookupError):
    """A program needs a library that none of the given packages ships."""


@dataclass
class SharedLibraries:
    """What the programs need: {soname: file in an unpacked package}, and
    the interpreter paths they name (each one a file among `files`)."""
    files: dict[str, Path] = field(default_factory=dict)
    interpreters: set[str] = field(default_factory=set)


def find_library(soname: str, trees: list[Path]) -> Path:
    """The file behind `soname` in one of the unpacked package trees.

    A soname is usually a relative symlink to the versioned file
    (libz.so.1 -> libz.so.1.2.13); it is followed, but never out of its
    tree (an absolute link would point into the host's own /lib)."""
    for tree in trees:
        for directory in LIBRARY_DIRS:
            candidate = tree / directory / soname
            if candidate.exists():
                resolved = candidate.resolve()
                if not resolved.is_relative_to(tree.resolve()):
                    raise MissingLibrary(f"{candidate} links outside its package: {resolved}")
                return resolved
    names = ", ".join(tree.name for tree in trees)
    raise MissingLibrary(f"no package among ({names}) ships {soname}: add the Debian "
                         "package that does to the image builder's library packages")


def needed_by(programs: list[Path], trees: list[Path]) -> SharedLibraries:
    """Every library the programs load, directly or through another library."""
    found = SharedLibraries()
    pending = list(programs)
    while pending:
        info = dynamic_info(pending.pop())
        if info.interpreter:
            found.interpreters.add(info.interpreter)
            loader = Path(info.interpreter).name
            if loader not in found.files:
                found.files[loader] = find_library(loader, trees)
        for soname in info.needed:
            if soname not in found.files:
                found.files[soname] = find_library(soname, trees)
                pending.append(found.files[soname])
    return found
