"""VDI: VirtualBox disk images.

One 512-byte little-endian header holds everything: the signature at 0x40,
the disk size at 0x170 and the block map geometry.

Why check it: the disk size and the block map must fit each other.  A size
larger than the block map can address, a block size qemu does not support,
or more allocated blocks than exist are the kind of inconsistency that
crashes or confuses readers (qemu refuses them in ``block/vdi.c``; we refuse
them at upload instead of at boot).  A non-null *parent* or *link* UUID
means a differencing image that depends on another file.
"""

from __future__ import annotations

import struct

from .base import Finding, FormatProbe, check_virtual_size, out_of_range

SIGNATURE = 0xBEDA107F
VERSION_1_1 = 0x00010001
TYPE_DYNAMIC, TYPE_STATIC = 1, 2
BLOCK_SIZE = 1 << 20
MAX_BLOCKS = 0xFFFFFFFF // 4

# signature, version, header_size, image_type, image_flags
_PRE = struct.Struct("<IIIII")
# offset_bmap, offset_data, cylinders, heads, sectors, sector_size, unused,
# disk_size, block_size, block_extra, blocks_in_image, blocks_allocated
_GEOMETRY = struct.Struct("<IIIIIIIQIIII")
_GEOMETRY_AT = 0x154
_LINK_UUID_AT, _PARENT_UUID_AT = 0x1A8, 0x1B8


class VdiProbe(FormatProbe):
    name = "vdi"

    def start(self) -> None:
        self.header = b""
        self.want(0, 512, self._got_header)

    def _got_header(self, data: bytes) -> None:
        self.header = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        data = self.header
        if len(data) < 0x44 or struct.unpack_from("<I", data, 0x40)[0] != SIGNATURE:
            return None
        finding = Finding(self.name)
        problems = finding.problems
        if len(data) < 512:
            problems.append(f"vdi header is truncated ({len(data)} bytes)")
            return finding
        _sig, version, _hsize, image_type, _flags = _PRE.unpack_from(data, 0x40)
        (offset_bmap, offset_data, _c, _h, _s, sector_size, _u, disk_size,
         block_size, block_extra, blocks, allocated) = _GEOMETRY.unpack_from(
            data, _GEOMETRY_AT)
        finding.virtual_size = disk_size // 512 * 512
        if version != VERSION_1_1:
            problems.append(f"vdi version {version >> 16}.{version & 0xFFFF} "
                            "is not supported (only 1.1)")
            return finding
        if image_type not in (TYPE_DYNAMIC, TYPE_STATIC):
            problems.append(out_of_range("vdi", "image_type", image_type,
                                         "1 or 2"))
        if sector_size != 512:
            problems.append(out_of_range("vdi", "sector_size", sector_size,
                                         "512"))
        if block_size != BLOCK_SIZE or block_extra:
            problems.append(out_of_range("vdi", "block_size", block_size,
                                         "1 MiB, no extra data"))
        if blocks > MAX_BLOCKS:
            problems.append(out_of_range("vdi", "blocks_in_image", blocks,
                                         f"at most {MAX_BLOCKS}"))
        if allocated > blocks:
            problems.append(out_of_range("vdi", "blocks_allocated", allocated,
                                         f"at most blocks_in_image={blocks}"))
        if disk_size > blocks * BLOCK_SIZE:
            problems.append(out_of_range("vdi", "disk_size", disk_size,
                                         f"the block map covers "
                                         f"{blocks * BLOCK_SIZE} bytes"))
        check_virtual_size("vdi", disk_size, problems)
        if offset_bmap % 512 or offset_data % 512 or offset_bmap < 512 or (
                offset_data - offset_bmap < blocks * 4):
            problems.append("vdi block map and data offsets are inconsistent "
                            f"(bmap {offset_bmap}, data {offset_data})")
        if any(data[_PARENT_UUID_AT:_PARENT_UUID_AT + 16]) or any(
                data[_LINK_UUID_AT:_LINK_UUID_AT + 16]):
            problems.append("vdi image has a parent (a differencing image "
                            "needing another file)")
        return finding
