"""The tiny image builder's ELF reader and shared-library search, on the
machine's own programs (this is Debian: they are ELF x86_64 files whose
libraries live in /lib/x86_64-linux-gnu, like the packages' the builder
unpacks)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from labs.tinyimage.elf import ElfError, dynamic_info
from labs.tinyimage.sharedlibs import MissingLibrary, find_library, needed_by

PYTHON = Path(os.path.realpath(sys.executable))   # /usr/bin/python3.11: dynamically linked
LOADER = "ld-linux-x86-64.so.2"


def test_a_dynamic_program_names_its_loader_and_libraries():
    info = dynamic_info(PYTHON)
    assert info.interpreter == f"/lib64/{LOADER}"
    assert "libc.so.6" in info.needed


def test_a_static_program_needs_nothing():
    busybox = Path("/bin/busybox")   # busybox-static: make install puts it there
    assert busybox.exists(), "busybox-static is missing (labs/host/install-packages.sh)"
    info = dynamic_info(busybox)
    assert (info.interpreter, info.needed) == (None, [])


def test_a_file_that_is_not_elf_is_refused(tmp_path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(ElfError):
        dynamic_info(script)


def test_the_closure_holds_every_library_and_the_loader():
    found = needed_by([PYTHON], [Path("/")])
    assert {"libc.so.6", LOADER} <= set(found.files)
    assert found.interpreters == {f"/lib64/{LOADER}"}
    for soname, path in found.files.items():
        assert path.is_file(), soname
        # What each library needs is in the closure too.
        assert set(dynamic_info(path).needed) <= set(found.files), soname


def test_a_library_no_package_ships_stops_the_build(tmp_path):
    (tmp_path / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    with pytest.raises(MissingLibrary, match="ships (libc.so.6|ld-linux)"):
        needed_by([PYTHON], [tmp_path])


def test_a_link_out_of_its_package_is_refused(tmp_path):
    directory = tmp_path / "usr" / "lib" / "x86_64-linux-gnu"
    directory.mkdir(parents=True)
    (directory / "libc.so.6").symlink_to("/lib/x86_64-linux-gnu/libc.so.6")
    with pytest.raises(MissingLibrary, match="outside"):
        find_library("libc.so.6", [tmp_path])
