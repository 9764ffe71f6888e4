"""shared.imageformat: format detection, virtual sizes and safety refusals.

Real files only: good images come from qemu-img / genisoimage (compared with
``qemu-img info -f <fmt>``), bad ones are targeted patches of good ones
(tests/unit/image_corpus.py).
"""

from __future__ import annotations

import random
import time
import tracemalloc
from pathlib import Path

import pytest

from shared.imageformat import (
    ImageSafetyError,
    InspectionResult,
    StreamingInspector,
    check,
    check_file,
    inspect_file,
    inspect_stream,
    qemu_format_name,
)
from shared.imageformat.base import MAX_BUFFERED
from tests.unit import image_corpus
from tests.unit.image_corpus import HAVE_TOOLS, MIB

# The Makefile installs qemu-utils and genisoimage/xorriso: their absence is a
# broken set-up, and must fail the suite rather than skip it silently.
needs_tools = pytest.mark.usefixtures("image_tools")


@pytest.fixture(scope="module")
def image_tools():
    assert HAVE_TOOLS, "qemu-img and genisoimage/xorriso are required (make install)"

CHUNK_SIZES = [511, 4096, MIB]


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    assert HAVE_TOOLS, "qemu-img and genisoimage/xorriso are required (make install)"
    images = image_corpus.good_images(tmp_path_factory.mktemp("good"))
    return {image.name: image for image in images}


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    assert HAVE_TOOLS, "qemu-img and genisoimage/xorriso are required (make install)"
    images = image_corpus.bad_images(tmp_path_factory.mktemp("bad"))
    return {image.name: image for image in images}


GOOD_NAMES = [
    "qcow2", "qcow2-v2", "qcow2-512-byte-clusters", "vmdk-monolithicSparse",
    "vmdk-streamOptimized", "vmdk-streamOptimized-footer", "vhd-dynamic",
    "vhd-fixed-force-size", "vhd-fixed-chs", "vhdx",
    "vhdx-log-guid-without-entries", "vdi-dynamic",
    "vdi-static", "raw", "raw-random-data", "raw-empty", "raw-as-aki",
    "raw-as-ploop", "ploop-parallels", "raw-mbr", "raw-gpt", "raw-gpt-4k-sectors",
    "raw-fat-filesystem", "vhd-fixed-with-mbr", "iso", "iso-hybrid-mbr",
    "iso-with-gpt"]

BAD_NAMES = [
    "qcow2-backing-file", "qcow2-external-data-file", "qcow2-declared-raw",
    "qcow2-declared-aki", "qcow2-declared-ami", "qcow2-declared-vmdk",
    "qcow2-declared-unknown-format", "qcow2-truncated-header",
    "qcow2-cluster-bits-40", "qcow2-version-4",
    "qcow2-unknown-incompatible-feature", "qcow2-absurd-size",
    "qcow2-l1-table-outside-file", "qcow2-with-vhd-footer", "qcow2-with-mbr",
    "raw-declared-qcow2", "raw-declared-vhd", "vmdk-flat-extent-host-file",
    "vmdk-sparse-extent-with-path", "vmdk-extents-in-two-files",
    "vmdk-no-extents", "vmdk-create-type-not-allowed", "vmdk-parent-file",
    "vmdk-unknown-descriptor-line", "vmdk-capacity-zero",
    "vmdk-descriptor-only-text-file", "vmdk-descriptor-only-declared-raw",
    "vmdk-monolithicFlat-by-qemu", "vmdk-footer-points-to-footer",
    "vhd-fixed-lying-size", "vhd-bad-footer-checksum", "vhd-differencing",
    "vhd-footer-copies-disagree", "vhd-bat-too-small",
    "vhdx-log-needs-replay", "vhdx-parent-locator", "vhdx-absurd-size",
    "vdi-parent", "vdi-size-beyond-block-map", "iso-with-qcow2-header",
    "iso-with-qcow2-header-declared-qcow2", "iso-with-vmdk-header",
    "iso-declared-raw", "iso-endian-mismatch", "mbr-invalid-boot-flag",
    "mbr-overlapping-partitions", "mbr-without-partitions",
    "gpt-protective-mbr-extra-partition", "gpt-header-crc-wrong",
    "gpt-partition-beyond-usable-area", "gpt-header-missing",
    "parallels-declared-raw", "parallels-in-use", "qed", "luks"]


def feed_in_chunks(path: Path, chunk_size: int) -> InspectionResult:
    data = memoryview(path.read_bytes())
    inspector = StreamingInspector()
    for start in range(0, len(data), chunk_size):
        inspector.feed(data[start:start + chunk_size])
    return inspector.finish(len(data))


# -- the corpus lists stay in sync with the builders ---------------------------
@needs_tools
def test_corpus_names_match(good, bad):
    assert sorted(good) == sorted(GOOD_NAMES)
    assert sorted(bad) == sorted(BAD_NAMES)
    for entry in bad.values():   # API tests unpack 4-tuples
        name, path, disk_format, reason = entry
        assert path.exists() and reason


# -- good images -------------------------------------------------------------
@needs_tools
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_image_detected_with_qemu_virtual_size(good, name):
    image = good[name]
    result = inspect_file(image.path)
    assert result.problems == ()
    assert result.format == image.content_format
    assert result.partition_table == image.partition_table
    if image.content_format == "iso":
        # qemu sees an ISO as raw: its size is the file, which is the volume.
        assert result.virtual_size == image.path.stat().st_size
    else:
        assert result.virtual_size == image_corpus.qemu_virtual_size(
            image.path, image.qemu_format)
    assert check(result, image.disk_format) is result


@needs_tools
@pytest.mark.parametrize("chunk_size", CHUNK_SIZES)
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_good_image_same_result_for_any_chunk_size(good, name, chunk_size):
    image = good[name]
    assert feed_in_chunks(image.path, chunk_size) == inspect_file(image.path)


@needs_tools
def test_subformats_and_details(good):
    assert inspect_file(good["vhd-dynamic"].path).details["subformat"] == "dynamic"
    assert inspect_file(good["vhd-fixed-chs"].path).details["subformat"] == "fixed"
    stream = inspect_file(good["vmdk-streamOptimized-footer"].path)
    assert stream.details["create_type"] == "streamOptimized"
    hybrid = inspect_file(good["iso-hybrid-mbr"].path)
    assert hybrid.signatures == ("iso", "mbr")
    assert hybrid.qemu_format == "raw"


# -- bad images ----------------------------------------------------------------
@needs_tools
@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_image_refused_naming_the_reason(bad, name):
    image = bad[name]
    with pytest.raises(ImageSafetyError) as refused:
        check_file(image.path, image.disk_format)
    assert image.reason in str(refused.value)
    assert image.reason in " ".join(refused.value.reasons)


@needs_tools
@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_image_refused_while_streaming(bad, name):
    image = bad[name]
    result = feed_in_chunks(image.path, 4096)
    assert result == inspect_file(image.path)
    with pytest.raises(ImageSafetyError, match="."):
        check(result, image.disk_format)


@needs_tools
def test_backing_file_name_is_reported(bad):
    result = inspect_file(bad["qcow2-backing-file"].path)
    assert result.format == "qcow2"
    assert "'/etc/hostname'" in result.problems[0]


@needs_tools
def test_vmdk_allowed_types_are_configurable(good):
    path = good["vmdk-streamOptimized"].path
    only_sparse = inspect_file(path, vmdk_allowed_types={"monolithicSparse"})
    assert "vmdk create type 'streamOptimized' is not allowed" in \
        only_sparse.problems[0]
    assert inspect_file(good["vmdk-monolithicSparse"].path,
                        vmdk_allowed_types={"monolithicSparse"}).safe


@needs_tools
@pytest.mark.parametrize("name", GOOD_NAMES)
def test_mutated_headers_never_crash_the_inspector(good, name):
    """Fuzz: random byte flips in the structures must give a verdict, not a
    traceback (a crashing probe would turn into a vague refusal)."""
    data = good[name].path.read_bytes()
    if not data:
        return
    rng = random.Random(name)
    hot = [0, 512, 32768, 64 << 10, 128 << 10, 192 << 10, len(data) - 1024]
    for _ in range(20):
        mutated = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            base = rng.choice(hot)
            at = min(max(base + rng.randrange(0, 600), 0), len(data) - 1)
            mutated[at] = rng.randrange(256)
        result = inspect_stream([bytes(mutated)])
        assert not any("could not be parsed" in p for p in result.problems)


# -- policy ----------------------------------------------------------------------
def _result(fmt: str, *problems: str, table: str | None = None):
    return InspectionResult(fmt, 1024, 1024, table, (fmt,), problems)


@pytest.mark.parametrize("declared", ["raw", "ami", "ari", "aki", "ploop", "RAW"])
def test_raw_like_disk_formats_accept_raw_and_partitioned_raw(declared):
    check(_result("raw"), declared)
    check(_result("raw", table="gpt"), declared)


@pytest.mark.parametrize("content,declared", [
    ("qcow2", "raw"), ("qcow2", "ami"), ("qcow2", "ari"), ("qcow2", "aki"),
    ("qcow2", "ploop"), ("vmdk", "raw"), ("iso", "raw"), ("raw", "iso"),
    ("vhd", "vhdx"), ("raw", "vdi")])
def test_mismatched_content_refused(content, declared):
    with pytest.raises(ImageSafetyError,
                       match=f"content is {content} but disk_format is "
                             f"{declared}"):
        check(_result(content), declared)


@pytest.mark.parametrize("declared", ["qed", "luks", "docker", "", None])
def test_disk_formats_without_inspector_refused(declared):
    with pytest.raises(ImageSafetyError, match="has no format inspector"):
        check(_result("raw"), declared)


def test_error_lists_every_reason():
    with pytest.raises(ImageSafetyError) as refused:
        check(_result("qcow2", "qcow2 image has a backing file"), "raw")
    assert refused.value.reasons == ("content is qcow2 but disk_format is raw",
                                     "qcow2 image has a backing file")
    assert str(refused.value) == ("content is qcow2 but disk_format is raw; "
                                  "qcow2 image has a backing file")


def test_qemu_format_names():
    assert qemu_format_name("vhd") == "vpc"
    assert qemu_format_name("iso") == "raw"
    assert qemu_format_name("aki") == "raw"
    assert qemu_format_name("qcow2") == "qcow2"
    assert qemu_format_name("ploop") == "parallels"


# -- the streaming contract --------------------------------------------------------
def test_nothing_recognisable_is_raw_of_file_size():
    result = inspect_stream([b"hello world\n" * 1000])
    assert (result.format, result.virtual_size, result.safe) == ("raw", 12000, True)


def test_empty_stream_is_raw():
    assert inspect_stream([]).virtual_size == 0


def test_finish_checks_total_size_and_feeding_after_finish_fails():
    inspector = StreamingInspector()
    inspector.feed(b"\0" * 100)
    with pytest.raises(ValueError):
        inspector.finish(99)
    result = inspector.finish(100)
    assert inspector.finish() is result
    with pytest.raises(RuntimeError):
        inspector.feed(b"more")


def test_chunks_may_be_bytearray_or_memoryview():
    header = bytearray(b"QFI\xfb" + bytes(508))
    inspector = StreamingInspector()
    inspector.feed(memoryview(header)[:3])
    inspector.feed(header[3:])
    assert inspector.finish().format == "qcow2"


def test_chunks_past_the_headers_are_near_free():
    """500 MB/s uploads: a 1 MiB chunk after the headers costs O(1)."""
    chunk = bytes(MIB)
    inspector = StreamingInspector()
    inspector.feed(chunk)  # every header a probe wants lies in the first MiB
    assert inspector.next_wanted_offset == float("inf")
    tracemalloc.start()
    started = time.perf_counter()
    for _ in range(1024):  # 1 GiB
        inspector.feed(chunk)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 << 10, "feed() must not copy whole chunks"
    assert elapsed < 0.5, f"1 GiB of feed() took {elapsed:.3f}s"
    assert inspector.buffered_bytes <= 8192
    assert inspector.finish().virtual_size == 1025 * MIB


def test_exfat_filesystem_is_not_mistaken_for_an_mbr():
    boot_sector = bytearray(512)
    boot_sector[0:11] = b"\xeb\x76\x90EXFAT   "
    boot_sector[120:510] = bytes(range(256)) + bytes(range(134))  # boot code
    boot_sector[510:] = b"\x55\xaa"
    result = inspect_stream([bytes(boot_sector), bytes(MIB)])
    assert (result.format, result.partition_table, result.safe) == (
        "raw", None, True)


def test_buffering_is_capped():
    inspector = StreamingInspector()
    inspector.feed(bytes(4096))
    assert inspector.buffered_bytes < MAX_BUFFERED


@needs_tools
@pytest.mark.parametrize("last_chunk", [1, 511, 513, 4095, 4097, 70000])
def test_end_footers_found_whatever_the_last_chunk(good, last_chunk):
    for name in ("vhd-fixed-force-size", "vmdk-streamOptimized-footer"):
        data = good[name].path.read_bytes()
        inspector = StreamingInspector()
        inspector.feed(data[:-last_chunk])
        inspector.feed(data[-last_chunk:])
        assert inspector.finish() == inspect_file(good[name].path)
