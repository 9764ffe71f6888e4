"""Good and hostile disk images, built on the fly (no binaries in git).

Used by the inspector's unit tests and reusable by API upload/import tests
and computed's tests::

    from tests.unit.image_corpus import bad_images, good_images
    for name, path, disk_format, reason in bad_images(tmp_dir):
        ...  # upload, expect a refusal whose message contains `reason`

Good images come from the real tools (qemu-img, genisoimage/xorriso) so the
inspector is checked against what qemu writes; partition tables are written
by hand (no sfdisk/sgdisk needed).  Bad images are good ones with one
targeted patch each, named after the attack they represent.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import uuid
import zlib
from pathlib import Path
from typing import NamedTuple

MIB = 1 << 20
QEMU_IMG = shutil.which("qemu-img")
ISO_TOOL = shutil.which("genisoimage") or shutil.which("xorriso")
HAVE_TOOLS = bool(QEMU_IMG and ISO_TOOL)


class GoodImage(NamedTuple):
    name: str
    path: Path
    disk_format: str            # what an uploader would declare
    content_format: str         # what the inspector must report
    qemu_format: str            # the -f for `qemu-img info` to compare with
    partition_table: str | None = None


class BadImage(NamedTuple):
    name: str
    path: Path
    disk_format: str            # what the (hostile) uploader declares
    reason: str                 # substring the refusal message must contain


# -- tools ----------------------------------------------------------------
def qemu_img(*args: str | os.PathLike[str]) -> str:
    if not QEMU_IMG:
        raise RuntimeError("qemu-img is not installed")
    return subprocess.run([QEMU_IMG, *map(str, args)], check=True,
                          capture_output=True, text=True).stdout


def qemu_virtual_size(path: Path, qemu_format: str) -> int:
    info = json.loads(qemu_img("info", "--output=json", "-f", qemu_format,
                               path))
    return int(info["virtual-size"])


def build_iso(path: Path, content_dir: Path) -> Path:
    if not ISO_TOOL:
        raise RuntimeError("neither genisoimage nor xorriso is installed")
    command = [ISO_TOOL, "-as", "mkisofs"] if ISO_TOOL.endswith("xorriso") else [ISO_TOOL]
    subprocess.run([*command, "-quiet", "-V", "CORPUS", "-o", str(path),
                    str(content_dir)], check=True, capture_output=True)
    return path


def patch(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes in place; a negative offset counts from the end."""
    with open(path, "r+b") as handle:
        handle.seek(offset, os.SEEK_END if offset < 0 else os.SEEK_SET)
        handle.write(data)


def read_at(path: Path, offset: int, length: int) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(offset, os.SEEK_END if offset < 0 else os.SEEK_SET)
        return handle.read(length)


def copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


# -- hand-written structures ----------------------------------------------
def mbr_entry(boot: int, kind: int, start: int, sectors: int,
              start_chs: bytes = b"\x00\x02\x00") -> bytes:
    return struct.pack("<B3sB3sII", boot, start_chs, kind, b"\xfe\xff\xff",
                       start, sectors)


def mbr_sector(entries: list[bytes]) -> bytes:
    table = b"".join(entries).ljust(64, b"\0")
    return b"\xfa\x31\xc0".ljust(446, b"\0") + table + b"\x55\xaa"


def write_raw_disk(path: Path, size: int, first_sectors: bytes) -> Path:
    with open(path, "wb") as handle:
        handle.write(first_sectors)
        handle.truncate(size)
    return path


def vhd_checksum(block: bytes, at: int) -> int:
    return ~(sum(block) - sum(block[at:at + 4])) & 0xFFFFFFFF


def with_vhd_checksum(footer: bytes) -> bytes:
    footer = footer[:64] + b"\0\0\0\0" + footer[68:]
    return footer[:64] + struct.pack(">I", vhd_checksum(footer, 64)) + footer[68:]


def gpt_disk(size: int, partitions: list[tuple[int, int]],
             sector: int = 512, entries_crc_fix: bool = True) -> bytes:
    """A protective MBR + primary GPT (+ entry array) for a disk of `size`.

    Returns the first sectors; the backup GPT is appended by the caller
    via :func:`gpt_backup` (kept apart so tests can omit it).
    """
    last_lba = size // sector - 1
    entry_count, entry_size = 128, 128
    array_sectors = entry_count * entry_size // sector
    first_usable = 2 + array_sectors
    last_usable = last_lba - 1 - array_sectors
    entries = bytearray(entry_count * entry_size)
    linux_fs = uuid.UUID("0FC63DAF-8483-4772-8E79-3D69D8477DE4").bytes_le
    for index, (first, last) in enumerate(partitions):
        entries[index * 128:index * 128 + 56] = (
            linux_fs + uuid.uuid4().bytes_le + struct.pack("<QQQ", first, last, 0))
    header = gpt_header(1, last_lba, first_usable, last_usable, 2,
                        entry_count, entry_size, zlib.crc32(entries))
    protective = mbr_sector([mbr_entry(0, 0xEE, 1, min(last_lba, 0xFFFFFFFF))])
    return (protective.ljust(sector, b"\0") + header.ljust(sector, b"\0")
            + bytes(entries))


def gpt_header(my_lba: int, alternate: int, first_usable: int,
               last_usable: int, entries_lba: int, count: int, size: int,
               entries_crc: int) -> bytes:
    fields = [b"EFI PART", 0x00010000, 92, 0, 0, my_lba, alternate,
              first_usable, last_usable, uuid.UUID(int=0x1234).bytes_le,
              entries_lba, count, size, entries_crc]
    raw = struct.pack("<8sIIIIQQQQ16sQIII", *fields)
    fields[3] = zlib.crc32(raw)
    return struct.pack("<8sIIIIQQQQ16sQIII", *fields)


def write_gpt_disk(path: Path, size: int, partitions: list[tuple[int, int]],
                   sector: int = 512) -> Path:
    head = gpt_disk(size, partitions, sector)
    write_raw_disk(path, size, head)
    # Backup: entries then header in the last sectors.
    entries = head[2 * sector:]
    fields = struct.unpack_from("<8sIIIIQQQQ16sQIII", head, sector)
    last_lba = fields[6]
    backup_entries_lba = last_lba - len(entries) // sector
    backup = gpt_header(last_lba, 1, fields[7], fields[8], backup_entries_lba,
                        fields[11], fields[12], fields[13])
    patch(path, backup_entries_lba * sector, entries + backup.ljust(sector, b"\0"))
    return path


def regpt(path: Path, sector: int = 512) -> None:
    """Recompute the primary GPT CRCs after a test patched the entries."""
    header = bytearray(read_at(path, sector, 92))
    count, size = struct.unpack_from("<II", header, 80)
    entries = read_at(path, 2 * sector, count * size)
    struct.pack_into("<I", header, 88, zlib.crc32(entries))
    struct.pack_into("<I", header, 16, 0)
    struct.pack_into("<I", header, 16, zlib.crc32(bytes(header)))
    patch(path, sector, bytes(header))


def vmdk_descriptor(path: Path, text: str) -> None:
    """Replace the embedded descriptor of a monolithicSparse/streamOptimized vmdk."""
    size_sectors = struct.unpack_from("<Q", read_at(path, 36, 8))[0]
    data = text.encode("ascii")
    assert len(data) < size_sectors * 512
    patch(path, 512, data.ljust(size_sectors * 512, b"\0"))


def vmdk_stream_footer(path: Path, footer_gd: int | None = None) -> None:
    """Turn a qemu streamOptimized vmdk into one whose header lives in a footer.

    qemu-img never writes this layout but VMware's tools do: the header's
    gd_offset is GD_AT_END and the real header follows a footer marker
    just before the end-of-stream marker.
    """
    header = read_at(path, 0, 512)
    real_gd = struct.unpack_from("<Q", header, 56)[0]
    footer = bytearray(header)
    struct.pack_into("<Q", footer, 56, real_gd if footer_gd is None else footer_gd)
    marker = struct.pack("<QII", 1, 0, 3).ljust(512, b"\0")
    end_of_stream = bytes(512)
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        handle.truncate(size - 512)   # drop qemu's end-of-stream marker
        handle.seek(0, os.SEEK_END)
        handle.write(marker + bytes(footer) + end_of_stream)
    patch(path, 56, struct.pack("<Q", 0xFFFFFFFFFFFFFFFF))


def vhdx_fix_header_checksums(path: Path) -> None:
    from shared.imageformat.vhdx import crc32c
    for offset in (64 << 10, 128 << 10):
        block = bytearray(read_at(path, offset, 4096))
        struct.pack_into("<I", block, 4, 0)
        struct.pack_into("<I", block, 4, crc32c(bytes(block)))
        patch(path, offset, bytes(block))


VHDX_LOG_GUID = b"\x42" * 16


def vhdx_with_log_guid(path: Path) -> Path:
    """Set a log GUID in both headers, as Hyper-V leaves it after use.

    With no log entry carrying that GUID there is nothing to replay.
    """
    for offset in (64 << 10, 128 << 10):
        patch(path, offset + 48, VHDX_LOG_GUID)
    vhdx_fix_header_checksums(path)
    return path


def vhdx_metadata_offset(path: Path) -> int:
    table = read_at(path, 192 << 10, 64 << 10)
    count = struct.unpack_from("<I", table, 8)[0]
    for index in range(count):
        entry = table[16 + 32 * index:48 + 32 * index]
        if uuid.UUID(bytes_le=entry[:16]) == uuid.UUID(
                "8B7CA206-4790-4B9A-B8FE-575F050F886E"):
            return struct.unpack_from("<Q", entry, 16)[0]
    raise AssertionError("no metadata region")


# -- the corpora ------------------------------------------------------------
def _data_raw(directory: Path) -> Path:
    """A 4 MiB raw disk with 256 KiB of pseudo-random data at 1 MiB."""
    path = directory / "data.raw"
    if not path.exists():
        with open(path, "wb") as handle:
            handle.truncate(4 * MIB)
            handle.seek(MIB)
            handle.write(os.urandom(256 << 10))
    return path


def good_images(directory: str | os.PathLike[str]) -> list[GoodImage]:
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    data = _data_raw(d)
    images: list[GoodImage] = []

    def add(name, path, disk_format, content, qemu_format, table=None):
        images.append(GoodImage(name, Path(path), disk_format, content,
                                qemu_format, table))

    qemu_img("convert", "-O", "qcow2", data, d / "good.qcow2")
    add("qcow2", d / "good.qcow2", "qcow2", "qcow2", "qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "compat=0.10",
             d / "good-v2.qcow2", "64M")
    add("qcow2-v2", d / "good-v2.qcow2", "qcow2", "qcow2", "qcow2")
    qemu_img("create", "-q", "-f", "qcow2", "-o", "cluster_size=512",
             d / "good-small-clusters.qcow2", "1M")
    add("qcow2-512-byte-clusters", d / "good-small-clusters.qcow2", "qcow2",
        "qcow2", "qcow2")
    qemu_img("convert", "-O", "vmdk", "-o", "subformat=monolithicSparse",
             data, d / "good-sparse.vmdk")
    add("vmdk-monolithicSparse", d / "good-sparse.vmdk", "vmdk", "vmdk", "vmdk")
    qemu_img("convert", "-O", "vmdk", "-o", "subformat=streamOptimized",
             data, d / "good-stream.vmdk")
    add("vmdk-streamOptimized", d / "good-stream.vmdk", "vmdk", "vmdk", "vmdk")
    footer = copy(d / "good-stream.vmdk", d / "good-stream-footer.vmdk")
    vmdk_stream_footer(footer)
    add("vmdk-streamOptimized-footer", footer, "vmdk", "vmdk", "vmdk")
    qemu_img("convert", "-O", "vpc", data, d / "good-dynamic.vhd")
    add("vhd-dynamic", d / "good-dynamic.vhd", "vhd", "vhd", "vpc")
    qemu_img("convert", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
             data, d / "good-fixed.vhd")
    add("vhd-fixed-force-size", d / "good-fixed.vhd", "vhd", "vhd", "vpc")
    qemu_img("create", "-q", "-f", "vpc", "-o", "subformat=fixed",
             d / "good-fixed-chs.vhd", "3M")
    add("vhd-fixed-chs", d / "good-fixed-chs.vhd", "vhd", "vhd", "vpc")
    qemu_img("convert", "-O", "vhdx", data, d / "good.vhdx")
    add("vhdx", d / "good.vhdx", "vhdx", "vhdx", "vhdx")
    vhdx_with_log_guid(copy(d / "good.vhdx", d / "good-log-guid.vhdx"))
    add("vhdx-log-guid-without-entries", d / "good-log-guid.vhdx", "vhdx",
        "vhdx", "vhdx")
    qemu_img("convert", "-O", "vdi", data, d / "good.vdi")
    add("vdi-dynamic", d / "good.vdi", "vdi", "vdi", "vdi")
    qemu_img("create", "-q", "-f", "vdi", "-o", "static=on",
             d / "good-static.vdi", "2M")
    add("vdi-static", d / "good-static.vdi", "vdi", "vdi", "vdi")
    qemu_img("convert", "-O", "parallels", data, d / "good.ploop")
    add("ploop-parallels", d / "good.ploop", "ploop", "parallels", "parallels")
    qemu_img("create", "-q", "-f", "raw", d / "good.raw", "3M")
    add("raw", d / "good.raw", "raw", "raw", "raw")
    add("raw-random-data", data, "raw", "raw", "raw")
    (d / "empty.raw").write_bytes(b"")
    add("raw-empty", d / "empty.raw", "raw", "raw", "raw")
    add("raw-as-aki", data, "aki", "raw", "raw")
    add("raw-as-ploop", data, "ploop", "raw", "raw")
    write_raw_disk(d / "good-mbr.raw", 4 * MIB, mbr_sector([
        mbr_entry(0x80, 0x83, 2048, 4096), mbr_entry(0, 0x82, 6144, 2048)]))
    add("raw-mbr", d / "good-mbr.raw", "raw", "raw", "raw", "mbr")
    write_gpt_disk(d / "good-gpt.raw", 4 * MIB, [(2048, 4095), (4096, 8158)])
    add("raw-gpt", d / "good-gpt.raw", "raw", "raw", "raw", "gpt")
    write_gpt_disk(d / "good-gpt-4k.raw", 8 * MIB, [(256, 1791)], sector=4096)
    add("raw-gpt-4k-sectors", d / "good-gpt-4k.raw", "raw", "raw", "raw", "gpt")
    fat = bytearray(512)
    fat[0:3] = b"\xeb\x3c\x90"
    fat[3:11] = b"mkfs.fat"
    struct.pack_into("<HBHBHHBH", fat, 11, 512, 4, 4, 2, 512, 8192, 0xF8, 8)
    fat[446:510] = b"This is not a bootable disk.  Please insert a bootable "[:64].ljust(64)
    fat[510:512] = b"\x55\xaa"
    write_raw_disk(d / "good-fat.raw", 4 * MIB, bytes(fat))
    add("raw-fat-filesystem", d / "good-fat.raw", "raw", "raw", "raw")
    qemu_img("convert", "-O", "vpc", "-o", "subformat=fixed,force_size=on",
             d / "good-mbr.raw", d / "good-fixed-mbr.vhd")
    add("vhd-fixed-with-mbr", d / "good-fixed-mbr.vhd", "vhd", "vhd", "vpc",
        "mbr")

    content = d / "iso-content"
    content.mkdir(exist_ok=True)
    (content / "hello.txt").write_text("hello from the corpus\n")
    build_iso(d / "good.iso", content)
    add("iso", d / "good.iso", "iso", "iso", "raw")
    hybrid = copy(d / "good.iso", d / "good-hybrid.iso")
    iso_sectors = os.path.getsize(hybrid) // 512
    patch(hybrid, 0, mbr_sector([mbr_entry(0x80, 0x17, 0, iso_sectors,
                                           b"\x00\x01\x00")]))
    add("iso-hybrid-mbr", hybrid, "iso", "iso", "raw", "mbr")
    hybrid_gpt = copy(d / "good.iso", d / "good-hybrid-gpt.iso")
    patch(hybrid_gpt, 0, gpt_disk(os.path.getsize(hybrid_gpt), [(64, 127)]))
    add("iso-with-gpt", hybrid_gpt, "iso", "iso", "raw", "gpt")
    return images


def bad_images(directory: str | os.PathLike[str]) -> list[BadImage]:
    """Hostile images, each refused for the reason in its last field."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    data = _data_raw(d)
    images: list[BadImage] = []

    def add(name, path, disk_format, reason):
        images.append(BadImage(name, Path(path), disk_format, reason))

    # qcow2 ----------------------------------------------------------------
    # -u: qemu-img does not open the backing file; the name is what matters.
    qemu_img("create", "-q", "-f", "qcow2", "-u", "-b", "/etc/hostname",
             "-F", "raw", d / "backing.qcow2", "1M")
    add("qcow2-backing-file", d / "backing.qcow2", "qcow2",
        "qcow2 image has a backing file")
    qemu_img("create", "-q", "-f", "qcow2", "-o",
             f"data_file={d / 'external.data'}", d / "data-file.qcow2", "1M")
    add("qcow2-external-data-file", d / "data-file.qcow2", "qcow2",
        "qcow2 image uses an external data file")
    qemu_img("create", "-q", "-f", "qcow2", d / "plain.qcow2", "1M")
    plain = d / "plain.qcow2"
    add("qcow2-declared-raw", plain, "raw", "content is qcow2 but disk_format is raw")
    add("qcow2-declared-aki", plain, "aki", "content is qcow2 but disk_format is aki")
    add("qcow2-declared-ami", plain, "ami", "content is qcow2 but disk_format is ami")
    add("qcow2-declared-vmdk", plain, "vmdk", "content is qcow2 but disk_format is vmdk")
    add("qcow2-declared-unknown-format", plain, "qed",
        "disk_format 'qed' has no format inspector")
    (d / "truncated.qcow2").write_bytes(read_at(plain, 0, 48))
    add("qcow2-truncated-header", d / "truncated.qcow2", "qcow2",
        "qcow2 header is truncated")
    patch(copy(plain, d / "cluster-bits.qcow2"), 20, struct.pack(">I", 40))
    add("qcow2-cluster-bits-40", d / "cluster-bits.qcow2", "qcow2",
        "qcow2 header field cluster_bits=40 out of range")
    patch(copy(plain, d / "version.qcow2"), 4, struct.pack(">I", 4))
    add("qcow2-version-4", d / "version.qcow2", "qcow2",
        "qcow2 version 4 is not supported")
    patch(copy(plain, d / "features.qcow2"), 72, struct.pack(">Q", 1 << 20))
    add("qcow2-unknown-incompatible-feature", d / "features.qcow2", "qcow2",
        "unknown incompatible feature bits 0x100000")
    patch(copy(plain, d / "huge.qcow2"), 24, struct.pack(">Q", 1 << 62))
    add("qcow2-absurd-size", d / "huge.qcow2", "qcow2",
        "qcow2 header field size=4611686018427387904 out of range")
    patch(copy(plain, d / "l1-outside.qcow2"), 40, struct.pack(">Q", 1 << 40))
    add("qcow2-l1-table-outside-file", d / "l1-outside.qcow2", "qcow2",
        "qcow2 l1_table_offset 1099511627776 lies beyond the end of the file")
    footed = copy(plain, d / "qcow2-with-vhd-footer.qcow2")
    with open(footed, "ab") as handle:
        handle.write(read_at(_fixed_vhd(d), -512, 512))
    add("qcow2-with-vhd-footer", footed, "qcow2",
        "image carries signatures of more than one format: qcow2 and vhd")
    patch(copy(plain, d / "qcow2-with-mbr.qcow2"), 446,
          mbr_entry(0, 0x83, 2048, 2048) + bytes(48) + b"\x55\xaa")
    add("qcow2-with-mbr", d / "qcow2-with-mbr.qcow2", "qcow2",
        "image carries signatures of more than one format: mbr and qcow2")

    # raw ------------------------------------------------------------------
    add("raw-declared-qcow2", data, "qcow2", "content is raw but disk_format is qcow2")
    add("raw-declared-vhd", data, "vhd", "content is raw but disk_format is vhd")

    # vmdk -----------------------------------------------------------------
    qemu_img("create", "-q", "-f", "vmdk", d / "sparse.vmdk", "1M")
    sparse = d / "sparse.vmdk"
    header = ('# Disk DescriptorFile\nversion=1\nCID=12345678\n'
              'parentCID=ffffffff\ncreateType="{kind}"\n\n')
    ddb = '\nddb.virtualHWVersion = "4"\nddb.adapterType = "ide"\n'
    flat = copy(sparse, d / "flat-extent.vmdk")
    vmdk_descriptor(flat, header.format(kind="monolithicSparse")
                    + 'RW 2048 FLAT "/etc/hostname" 0\n' + ddb)
    add("vmdk-flat-extent-host-file", flat, "vmdk",
        "vmdk extent '/etc/hostname' is not inside the image (type FLAT)")
    path_extent = copy(sparse, d / "path-extent.vmdk")
    vmdk_descriptor(path_extent, header.format(kind="monolithicSparse")
                    + 'RW 2048 SPARSE "../other-tenant.vmdk"\n' + ddb)
    add("vmdk-sparse-extent-with-path", path_extent, "vmdk",
        "vmdk extent '../other-tenant.vmdk' is not inside the image (it names a path)")
    two_files = copy(sparse, d / "two-files.vmdk")
    vmdk_descriptor(two_files, header.format(kind="monolithicSparse")
                    + 'RW 1024 SPARSE "two-files.vmdk"\n'
                    + 'RW 1024 SPARSE "neighbour.vmdk"\n' + ddb)
    add("vmdk-extents-in-two-files", two_files, "vmdk",
        "vmdk extents name more than one file")
    no_extent = copy(sparse, d / "no-extent.vmdk")
    vmdk_descriptor(no_extent, header.format(kind="monolithicSparse") + ddb)
    add("vmdk-no-extents", no_extent, "vmdk", "vmdk descriptor has no extents")
    wrong_type = copy(sparse, d / "two-gb.vmdk")
    vmdk_descriptor(wrong_type, header.format(kind="twoGbMaxExtentSparse")
                    + 'RW 2048 SPARSE "two-gb.vmdk"\n' + ddb)
    add("vmdk-create-type-not-allowed", wrong_type, "vmdk",
        "vmdk create type 'twoGbMaxExtentSparse' is not allowed")
    parent = copy(sparse, d / "parent.vmdk")
    vmdk_descriptor(parent, header.format(kind="monolithicSparse")
                    + 'parentFileNameHint="/var/lib/images/base.vmdk"\n'
                    + 'RW 2048 SPARSE "parent.vmdk"\n' + ddb)
    add("vmdk-parent-file", parent, "vmdk",
        "vmdk descriptor names a parent file '/var/lib/images/base.vmdk'")
    junk = copy(sparse, d / "junk-line.vmdk")
    vmdk_descriptor(junk, header.format(kind="monolithicSparse")
                    + 'RW 2048 SPARSE "junk-line.vmdk"\n!include /etc/passwd\n')
    add("vmdk-unknown-descriptor-line", junk, "vmdk",
        "vmdk descriptor line 8 is not understood: '!include /etc/passwd'")
    patch(copy(sparse, d / "capacity-zero.vmdk"), 12, struct.pack("<Q", 0))
    add("vmdk-capacity-zero", d / "capacity-zero.vmdk", "vmdk",
        "vmdk header capacity is 0")
    text = d / "descriptor-only.vmdk"
    text.write_text(header.format(kind="monolithicFlat")
                    + 'RW 2048 FLAT "/etc/hostname" 0\n' + ddb)
    add("vmdk-descriptor-only-text-file", text, "vmdk",
        "vmdk is a descriptor-only text file")
    add("vmdk-descriptor-only-declared-raw", text, "raw",
        "content is vmdk but disk_format is raw")
    qemu_img("create", "-q", "-f", "vmdk", "-o", "subformat=monolithicFlat",
             d / "mflat.vmdk", "1M")
    add("vmdk-monolithicFlat-by-qemu", d / "mflat.vmdk", "vmdk",
        "vmdk is a descriptor-only text file")
    qemu_img("convert", "-O", "vmdk", "-o", "subformat=streamOptimized",
             data, d / "footer-loop.vmdk")
    vmdk_stream_footer(d / "footer-loop.vmdk", footer_gd=0xFFFFFFFFFFFFFFFF)
    add("vmdk-footer-points-to-footer", d / "footer-loop.vmdk", "vmdk",
        "vmdk footer points to another footer")

    # vhd ------------------------------------------------------------------
    fixed = _fixed_vhd(d)
    lying = copy(fixed, d / "lying-size.vhd")
    footer = bytearray(read_at(lying, -512, 512))
    struct.pack_into(">QQ", footer, 40, 64 << 30, 64 << 30)
    patch(lying, -512, with_vhd_checksum(bytes(footer)))
    add("vhd-fixed-lying-size", lying, "vhd",
        "fixed vhd footer says the disk is 68719476736 bytes but the file "
        "holds 2097152 bytes of data")
    bad_sum = copy(fixed, d / "bad-checksum.vhd")
    patch(bad_sum, -512 + 40, struct.pack(">Q", 1))
    add("vhd-bad-footer-checksum", bad_sum, "vhd", "vhd footer checksum is wrong")
    qemu_img("create", "-q", "-f", "vpc", d / "dynamic.vhd", "2M")
    dynamic = d / "dynamic.vhd"
    differencing = copy(dynamic, d / "differencing.vhd")
    footer = bytearray(read_at(differencing, 0, 512))
    struct.pack_into(">I", footer, 60, 4)
    footer = bytearray(with_vhd_checksum(bytes(footer)))
    patch(differencing, 0, bytes(footer))
    patch(differencing, -512, bytes(footer))
    add("vhd-differencing", differencing, "vhd",
        "vhd is a differencing disk, which needs a parent (backing) file")
    disagree = copy(dynamic, d / "disagree.vhd")
    footer = bytearray(read_at(disagree, -512, 512))
    struct.pack_into(">Q", footer, 48, 1 << 30)
    patch(disagree, -512, with_vhd_checksum(bytes(footer)))
    add("vhd-footer-copies-disagree", disagree, "vhd",
        "vhd footer copy at offset 0 disagrees with the footer at the end")
    small_bat = copy(dynamic, d / "small-bat.vhd")
    dyn = bytearray(read_at(small_bat, 512, 1024))
    struct.pack_into(">I", dyn, 28, 0)
    struct.pack_into(">I", dyn, 36, 0)
    struct.pack_into(">I", dyn, 36, vhd_checksum(bytes(dyn), 36))
    patch(small_bat, 512, bytes(dyn))
    add("vhd-bat-too-small", small_bat, "vhd",
        "dynamic vhd block allocation table covers 0 bytes")

    # vhdx -----------------------------------------------------------------
    qemu_img("create", "-q", "-f", "vhdx", d / "plain.vhdx", "4M")
    log = vhdx_with_log_guid(copy(d / "plain.vhdx", d / "log.vhdx"))
    log_offset = struct.unpack_from("<Q", read_at(log, (64 << 10) + 72, 8))[0]
    patch(log, log_offset, b"loge" + bytes(28) + VHDX_LOG_GUID)
    add("vhdx-log-needs-replay", log, "vhdx",
        "vhdx image has a log that must be replayed")
    parent_vhdx = copy(d / "plain.vhdx", d / "parent.vhdx")
    metadata = vhdx_metadata_offset(parent_vhdx)
    table = bytearray(read_at(parent_vhdx, metadata, 64 << 10))
    count = struct.unpack_from("<H", table, 10)[0]
    entry = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").bytes_le + \
        struct.pack("<IIII", 65536 + 4096, 64, 0b110, 0)
    table[32 + 32 * count:64 + 32 * count] = entry
    struct.pack_into("<H", table, 10, count + 1)
    patch(parent_vhdx, metadata, bytes(table))
    add("vhdx-parent-locator", parent_vhdx, "vhdx",
        "vhdx image has a parent locator")
    huge = copy(d / "plain.vhdx", d / "huge.vhdx")
    table = read_at(huge, metadata, 64 << 10)
    for index in range(struct.unpack_from("<H", table, 10)[0]):
        raw_entry = table[32 + 32 * index:64 + 32 * index]
        if uuid.UUID(bytes_le=raw_entry[:16]) == uuid.UUID(
                "2FA54224-CD1B-4876-B211-5DBED83BF4B8"):
            item = struct.unpack_from("<I", raw_entry, 16)[0]
            patch(huge, metadata + item, struct.pack("<Q", 1 << 50))
    add("vhdx-absurd-size", huge, "vhdx",
        "vhdx header field virtual_disk_size=1125899906842624 out of range")

    # vdi ------------------------------------------------------------------
    qemu_img("create", "-q", "-f", "vdi", d / "plain.vdi", "2M")
    patch(copy(d / "plain.vdi", d / "parent.vdi"), 0x1B8, b"\x01" * 16)
    add("vdi-parent", d / "parent.vdi", "vdi", "vdi image has a parent")
    patch(copy(d / "plain.vdi", d / "big.vdi"), 0x170, struct.pack("<Q", 1 << 40))
    add("vdi-size-beyond-block-map", d / "big.vdi", "vdi",
        "vdi header field disk_size=1099511627776 out of range")

    # iso ------------------------------------------------------------------
    content = d / "iso-content"
    content.mkdir(exist_ok=True)
    (content / "hello.txt").write_text("hello\n")
    iso = build_iso(d / "plain.iso", content)
    qcow2_iso = copy(iso, d / "qcow2-in-system-area.iso")
    patch(qcow2_iso, 0, read_at(plain, 0, 512))
    add("iso-with-qcow2-header", qcow2_iso, "iso",
        "image carries signatures of more than one format: iso and qcow2")
    add("iso-with-qcow2-header-declared-qcow2", qcow2_iso, "qcow2",
        "image carries signatures of more than one format: iso and qcow2")
    vmdk_iso = copy(iso, d / "vmdk-in-system-area.iso")
    patch(vmdk_iso, 0, read_at(flat, 0, 4096))
    add("iso-with-vmdk-header", vmdk_iso, "iso",
        "image carries signatures of more than one format: iso and vmdk")
    add("iso-declared-raw", iso, "raw", "content is iso but disk_format is raw")
    lying_iso = copy(iso, d / "lying.iso")
    patch(lying_iso, 16 * 2048 + 80, struct.pack("<I", 1 << 20))
    add("iso-endian-mismatch", lying_iso, "iso",
        "iso primary volume descriptor's little- and big-endian sizes disagree")

    # partition tables -------------------------------------------------------
    write_raw_disk(d / "boot-flag.raw", 2 * MIB, mbr_sector([
        mbr_entry(0x42, 0x83, 2048, 2048)]))
    add("mbr-invalid-boot-flag", d / "boot-flag.raw", "raw",
        "MBR partition 1 has invalid boot flag 0x42")
    write_raw_disk(d / "overlap.raw", 2 * MIB, mbr_sector([
        mbr_entry(0, 0x83, 2048, 2048), mbr_entry(0, 0x83, 3000, 100)]))
    add("mbr-overlapping-partitions", d / "overlap.raw", "raw",
        "MBR partitions 1 and 2 overlap")
    write_raw_disk(d / "empty-mbr.raw", 2 * MIB, mbr_sector([]))
    add("mbr-without-partitions", d / "empty-mbr.raw", "raw",
        "MBR has no partitions defined")
    extra = write_gpt_disk(d / "gpt-extra.raw", 4 * MIB, [(2048, 4095)])
    patch(extra, 446 + 16, mbr_entry(0, 0x83, 2048, 100))
    add("gpt-protective-mbr-extra-partition", extra, "raw",
        "protective MBR defines extra partitions")
    bad_crc = write_gpt_disk(d / "gpt-crc.raw", 4 * MIB, [(2048, 4095)])
    patch(bad_crc, 512 + 16, b"\0\0\0\0")
    add("gpt-header-crc-wrong", bad_crc, "raw", "GPT header CRC is wrong")
    outside = write_gpt_disk(d / "gpt-outside.raw", 4 * MIB, [(2048, 4095)])
    patch(outside, 1024 + 40, struct.pack("<Q", 1 << 40))
    regpt(outside)
    add("gpt-partition-beyond-usable-area", outside, "raw",
        "GPT partition 1 (sectors 2048-1099511627776) lies outside the usable area")
    no_header = write_raw_disk(d / "gpt-missing.raw", 2 * MIB, mbr_sector([
        mbr_entry(0, 0xEE, 1, 4095)]))
    add("gpt-header-missing", no_header, "raw",
        "protective MBR but no GPT header at LBA 1")

    # parallels (ploop) ---------------------------------------------------------
    qemu_img("create", "-q", "-f", "parallels", d / "plain.ploop", "2M")
    add("parallels-declared-raw", d / "plain.ploop", "raw",
        "content is parallels but disk_format is raw")
    patch(copy(d / "plain.ploop", d / "in-use.ploop"), 44,
          struct.pack("<I", 0x746F6E59))
    add("parallels-in-use", d / "in-use.ploop", "ploop",
        "parallels image was not closed cleanly")

    # formats that are always refused ------------------------------------------
    qemu_img("create", "-q", "-f", "qed", d / "image.qed", "1M")
    add("qed", d / "image.qed", "raw", "qed images are never allowed")
    # A LUKS1 header written by hand: qemu-img spends seconds on PBKDF2.
    luks_header = struct.pack(">6sH32s32s32sII20s32sI", b"LUKS\xba\xbe", 1,
                              b"aes", b"xts-plain64", b"sha256", 4096, 64,
                              os.urandom(20), os.urandom(32), 1000)
    luks_header += uuid.uuid4().hex.encode().ljust(40, b"\0")
    write_raw_disk(d / "image.luks", MIB, luks_header)
    add("luks", d / "image.luks", "raw", "LUKS-encrypted image")
    return images


def _fixed_vhd(directory: Path) -> Path:
    path = directory / "fixed.vhd"
    if not path.exists():
        qemu_img("create", "-q", "-f", "vpc", "-o",
                 "subformat=fixed,force_size=on", path, "2M")
    return path
