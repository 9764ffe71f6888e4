"""Assemble the tiny image's initramfs: busybox, /init, its DHCP client
script, a few modules, and the SSH server (dropbear) with its shared
libraries and the accounts file it logs root in with."""
from __future__ import annotations

import gzip
import subprocess
from importlib import resources
from pathlib import Path

from . import kmods, sharedlibs
from .cpio import CpioWriter

DIRECTORIES = ["bin", "sbin", "dev", "etc", "etc/dropbear", "lib", "lib/modules",
               sharedlibs.IMAGE_LIBRARY_DIR, "lib64", "mnt", "proc", "root", "sys", "tmp"]

# The one login: root, home /root, shell busybox's sh.  The password field
# is "x" with no /etc/shadow: no password works, and dropbear runs with -s
# (public keys only) anyway; it would refuse an *empty* password field.
# /etc/shells lists the shells dropbear accepts as a user's shell.
ACCOUNT_FILES = {
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "etc/shells": "/bin/sh\n",
}


def init_script() -> bytes:
    """The /init shell script shipped next to this module."""
    return resources.files(__package__).joinpath("init.sh").read_bytes()


def udhcpc_script() -> bytes:
    """/etc/udhcpc.script: what busybox udhcpc runs at each DHCP event."""
    return resources.files(__package__).joinpath("udhcpc.sh").read_bytes()


def busybox_applets(busybox: Path) -> list[str]:
    """Applet names of this busybox build (`busybox --list`).  The binary is
    static, so the host can run it even though it comes from a .deb."""
    out = subprocess.run([str(busybox), "--list"], capture_output=True,
                         text=True, check=True).stdout
    return sorted(set(out.split()) - {"busybox"})


def module_groups(modules_root: Path) -> dict[str, list[str]]:
    """{"early": [...], "net": [...], "late": [...]}: each group's modules in
    load order (a group loads after early, so it skips what early loaded)."""
    index = kmods.module_index(modules_root)
    builtin = kmods.builtin_modules(modules_root)
    early = kmods.load_order(kmods.EARLY, index, builtin)
    net = kmods.load_order(kmods.NET, index, builtin, already=set(early))
    late = kmods.load_order(kmods.LATE, index, builtin, already=set(early))
    return {"early": early, "net": net, "late": late}


def add_programs(archive: CpioWriter, programs: dict[str, Path],
                 library_trees: list[Path]) -> list[str]:
    """Add dynamically linked programs ({path in the image: file}), the
    libraries they need and their loader; return the libraries' sonames."""
    libraries = sharedlibs.needed_by(list(programs.values()), library_trees)
    for target, source in programs.items():
        archive.file(target, source.read_bytes(), 0o755)
    for soname, source in sorted(libraries.files.items()):
        archive.file(f"{sharedlibs.IMAGE_LIBRARY_DIR}/{soname}", source.read_bytes(), 0o755)
    for interpreter in sorted(libraries.interpreters):  # /lib64/ld-linux-x86-64.so.2
        link = interpreter.lstrip("/")
        depth = link.count("/")
        archive.symlink(link, "../" * depth + f"{sharedlibs.IMAGE_LIBRARY_DIR}/"
                        f"{Path(interpreter).name}")
    return sorted(libraries.files)


def build_initramfs(modules_root: Path, busybox: Path, out: Path,
                    programs: dict[str, Path] | None = None,
                    library_trees: list[Path] | None = None) -> dict[str, object]:
    """Write a gzip-compressed newc initramfs to `out`; return what it
    contains for the build record: the module groups and the libraries."""
    archive = CpioWriter()
    for directory in DIRECTORIES:
        archive.directory(directory, 0o1777 if directory == "tmp" else 0o755)
    # The kernel opens /dev/console for init's stdin/stdout before /init can
    # mount devtmpfs, so the node must already be in the archive.
    archive.char_device("dev/console", 5, 1)
    archive.file("init", init_script(), 0o755)
    archive.file("etc/udhcpc.script", udhcpc_script(), 0o755)
    archive.file("bin/busybox", busybox.read_bytes(), 0o755)
    for applet in busybox_applets(busybox):
        archive.symlink(f"bin/{applet}", "busybox")
    for name, text in ACCOUNT_FILES.items():
        archive.file(name, text.encode())
    libraries = add_programs(archive, programs or {}, library_trees or [])

    index = kmods.module_index(modules_root)
    groups = module_groups(modules_root)
    for group, names in groups.items():
        for name in names:
            ko = index[name]
            archive.file(f"lib/modules/{ko.stem}.ko", ko.read_bytes())
        stems = [index[name].stem for name in names]
        archive.file(f"lib/modules/{group}.order", "".join(s + "\n" for s in stems).encode())

    # mtime=0 keeps the gzip header, hence the whole image, reproducible.
    out.write_bytes(gzip.compress(archive.getvalue(), compresslevel=9, mtime=0))
    return {"modules": groups, "libraries": libraries}
