"""qcow2 overlays made once by qemu-img, then written from memory
(computed/virt/overlays.py), with the real qemu-img: the copy is the file
qemu-img writes, QEMU's own check finds it sound, a file in its way is
replaced and a missing base fails, as with qemu-img."""
from __future__ import annotations

import json
import subprocess

import pytest

from computed.virt import overlays, qemu_img
from computed.virt.overlays import Overlays
from shared.units import MiB


def info(path) -> dict:
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                                     capture_output=True, text=True, check=True).stdout)


@pytest.fixture
def made(monkeypatch) -> list:
    """The overlays qemu-img itself made."""
    calls: list = []
    real = qemu_img.create_overlay

    def counting(path, base, base_format, size):
        calls.append(path.name)
        real(path, base, base_format, size)
    monkeypatch.setattr(overlays.qemu_img, "create_overlay", counting)
    return calls


def test_the_second_overlay_on_a_base_is_the_first_written_again(tmp_path, made):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\1" * MiB)
    kept = Overlays()
    kept.create(tmp_path / "first", base, "raw", 8 * MiB)
    kept.create(tmp_path / "second", base, "raw", 8 * MiB)
    assert made == ["first"]
    assert (tmp_path / "second").read_bytes() == (tmp_path / "first").read_bytes()
    described = info(tmp_path / "second")
    assert (described["format"], described["virtual-size"]) == ("qcow2", 8 * MiB)
    assert (described["backing-filename"], described["backing-filename-format"]) == \
        (str(base), "raw")
    subprocess.run(["qemu-img", "check", "-q", str(tmp_path / "second")], check=True)
    # and it reads the base through: the guest sees the image
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(tmp_path / "second"),
                    str(tmp_path / "seen")], check=True)
    assert (tmp_path / "seen").read_bytes()[:MiB] == b"\1" * MiB


def test_another_size_or_base_is_made_by_qemu_img(tmp_path, made):
    base, other = tmp_path / "base.raw", tmp_path / "other.raw"
    base.write_bytes(b"\0" * MiB)
    other.write_bytes(b"\0" * MiB)
    kept = Overlays()
    kept.create(tmp_path / "a", base, "raw", 8 * MiB)
    kept.create(tmp_path / "b", base, "raw", 16 * MiB)
    kept.create(tmp_path / "c", other, "raw", 8 * MiB)
    assert made == ["a", "b", "c"]
    assert info(tmp_path / "b")["virtual-size"] == 16 * MiB
    assert info(tmp_path / "c")["backing-filename"] == str(other)


def test_an_overlay_replaces_a_file_as_qemu_img_does_and_needs_its_base(tmp_path, made):
    """A resize makes the swap anew where the old one was."""
    base = tmp_path / "base.raw"
    base.write_bytes(b"\0" * MiB)
    kept = Overlays()
    kept.create(tmp_path / "a", base, "raw", 8 * MiB)
    (tmp_path / "old-swap").write_bytes(b"\xff" * (3 * MiB))
    kept.create(tmp_path / "old-swap", base, "raw", 8 * MiB)
    assert (tmp_path / "old-swap").read_bytes() == (tmp_path / "a").read_bytes()
    base.unlink()
    with pytest.raises(qemu_img.QemuImgError, match="backing file"):
        kept.create(tmp_path / "b", base, "raw", 8 * MiB)
    assert not (tmp_path / "b").exists()


def test_only_the_last_overlays_are_kept(tmp_path, made):
    base = tmp_path / "base.raw"
    base.write_bytes(b"\0" * MiB)
    kept = Overlays(kept=2)
    for size in (1, 2, 3, 1):
        kept.create(tmp_path / f"{size}-{len(made)}", base, "raw", size * MiB)
    assert len(made) == 4   # 1 MiB was forgotten when 3 MiB came
