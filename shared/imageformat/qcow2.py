"""qcow2: QEMU's copy-on-write format.

Why it is dangerous: a qcow2 header can point outside the image.

* A *backing file* (``backing_file_offset``/``backing_file_size``) names a
  path that qemu opens and reads through for every unallocated cluster: an
  image with backing file ``/etc/shadow`` turns the host file into the
  guest's disk content (the old Nova host-file exposure, GHSA-hqfx-4x4w-vmwp,
  and the conversion part of CVE-2022-47951).
* An *external data file* (incompatible feature bit 2, qcow2 v3) stores all
  guest data in another file named in a header extension: the same host-file
  read, CVE-2024-32498.
* Unknown incompatible feature bits and versions other than 2/3 mean "qemu
  of the future would interpret this differently": refuse what we cannot
  judge.  Absurd field values (cluster_bits=40, a 2^63 byte disk) exist only
  to hit overflow bugs in whoever does arithmetic on them.

Layout (big-endian): https://gitlab.com/qemu-project/qemu/-/blob/master/docs/interop/qcow2.txt
"""

from __future__ import annotations

import struct

from .base import Finding, FormatProbe, check_virtual_size, out_of_range

QCOW2_MAGIC = b"QFI\xfb"

# magic, version, backing_file_offset, backing_file_size, cluster_bits, size,
# crypt_method, l1_size, l1_table_offset, refcount_table_offset,
# refcount_table_clusters, nb_snapshots, snapshots_offset
_V2_HEADER = struct.Struct(">4sIQIIQIIQQIIQ")
# incompatible_features, compatible_features, autoclear_features,
# refcount_order, header_length
_V3_EXTRA = struct.Struct(">QQQII")

INCOMPAT_DIRTY = 1 << 0
INCOMPAT_CORRUPT = 1 << 1
INCOMPAT_DATA_FILE = 1 << 2
INCOMPAT_COMPRESSION_TYPE = 1 << 3
INCOMPAT_EXTENDED_L2 = 1 << 4
KNOWN_INCOMPATIBLE = (INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE
                      | INCOMPAT_COMPRESSION_TYPE | INCOMPAT_EXTENDED_L2)

MIN_CLUSTER_BITS, MAX_CLUSTER_BITS = 9, 21   # qemu's limits
MAX_L1_BYTES = 32 << 20                      # QCOW_MAX_L1_SIZE
MAX_SNAPSHOTS = 65536                        # QCOW_MAX_SNAPSHOTS
HEADER_CAPTURE = 4096  # the fixed header plus, usually, the backing name


class Qcow2Probe(FormatProbe):
    name = "qcow2"

    def start(self) -> None:
        self.header = b""
        self.want(0, HEADER_CAPTURE, self._got_header)

    def _got_header(self, data: bytes) -> None:
        self.header = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        data = self.header
        if not data.startswith(QCOW2_MAGIC):
            return None
        finding = Finding(self.name)
        problems = finding.problems
        if len(data) < _V2_HEADER.size:
            problems.append(f"qcow2 header is truncated ({len(data)} bytes, "
                            f"at least {_V2_HEADER.size} needed)")
            return finding
        (_magic, version, backing_offset, backing_size, cluster_bits, size,
         crypt_method, l1_size, l1_offset, refcount_offset, _rc_clusters,
         nb_snapshots, _snap_offset) = _V2_HEADER.unpack_from(data)
        finding.virtual_size = size
        finding.details["version"] = version

        if version not in (2, 3):
            problems.append(f"qcow2 version {version} is not supported "
                            "(only 2 and 3)")
            return finding
        if backing_offset or backing_size:
            problems.append("qcow2 image has a backing file"
                            + _backing_name(data, backing_offset, backing_size))
        if not MIN_CLUSTER_BITS <= cluster_bits <= MAX_CLUSTER_BITS:
            problems.append(out_of_range("qcow2", "cluster_bits", cluster_bits,
                                         f"{MIN_CLUSTER_BITS}..{MAX_CLUSTER_BITS}"))
            return finding
        cluster_size = 1 << cluster_bits
        check_virtual_size("qcow2", size, problems)
        if crypt_method > 2:
            problems.append(out_of_range("qcow2", "crypt_method", crypt_method,
                                         "0..2"))
        if nb_snapshots > MAX_SNAPSHOTS:
            problems.append(out_of_range("qcow2", "nb_snapshots", nb_snapshots,
                                         f"at most {MAX_SNAPSHOTS}"))

        incompatible = 0
        if version == 3:
            needed = _V2_HEADER.size + _V3_EXTRA.size
            if len(data) < needed:
                problems.append(f"qcow2 header is truncated ({len(data)} bytes, "
                                f"a version 3 header needs {needed})")
                return finding
            (incompatible, _compat, _autoclear, refcount_order,
             header_length) = _V3_EXTRA.unpack_from(data, _V2_HEADER.size)
            if incompatible & INCOMPAT_DATA_FILE:
                problems.append("qcow2 image uses an external data file")
            unknown = incompatible & ~KNOWN_INCOMPATIBLE
            if unknown:
                problems.append("qcow2 image sets unknown incompatible feature "
                                f"bits {unknown:#x}")
            if refcount_order > 6:
                problems.append(out_of_range("qcow2", "refcount_order",
                                             refcount_order, "0..6"))
            if not needed <= header_length <= cluster_size or header_length % 8:
                problems.append(out_of_range(
                    "qcow2", "header_length", header_length,
                    f"a multiple of 8 in {needed}..{cluster_size}"))

        # The tables must be cluster aligned, inside the file and big enough
        # for the disk: otherwise qemu reads from wherever they point.
        l2_entry_size = 16 if incompatible & INCOMPAT_EXTENDED_L2 else 8
        l2_coverage = cluster_size * (cluster_size // l2_entry_size)
        l1_needed = -(-size // l2_coverage)
        if l1_size * 8 > MAX_L1_BYTES:
            problems.append(out_of_range("qcow2", "l1_size", l1_size,
                                         f"at most {MAX_L1_BYTES // 8}"))
        elif l1_size < l1_needed:
            problems.append(f"qcow2 L1 table ({l1_size} entries) is too small "
                            f"for a {size} byte disk ({l1_needed} needed)")
        for field_name, offset, used in (
                ("l1_table_offset", l1_offset, l1_size > 0),
                ("refcount_table_offset", refcount_offset, True)):
            if not used:
                continue
            if offset % cluster_size:
                problems.append(out_of_range("qcow2", field_name, offset,
                                             "a multiple of the cluster size"))
            elif offset >= total_size:
                problems.append(f"qcow2 {field_name} {offset} lies beyond the "
                                f"end of the file ({total_size} bytes)")
        return finding


def _backing_name(header: bytes, offset: int, size: int) -> str:
    """The backing file name for the message, when it sits in the capture."""
    if 0 < size <= 1023 and offset + size <= len(header):
        name = header[offset:offset + size].decode("utf-8", "replace")
        return f" ({name!r})"
    return ""
