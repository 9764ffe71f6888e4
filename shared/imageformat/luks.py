"""LUKS: an encrypted container, detected only to be refused.

Why refuse: the payload is ciphertext, so none of the other checks can see
what is inside (a qcow2 with a backing file would look like noise), and
qemu's LUKS driver needs secrets we do not have.  Glance only lets LUKS
through after decrypting the first block with a user-supplied passphrase;
PocketStack has no such flow, so a LUKS header is a refusal with a clear
reason rather than a silent "raw".
"""

from __future__ import annotations

import struct

from .base import Finding, FormatProbe

LUKS_MAGIC = b"LUKS\xba\xbe"


class LuksProbe(FormatProbe):
    name = "luks"

    def start(self) -> None:
        self.head = b""
        self.want(0, 8, self._got_head)

    def _got_head(self, data: bytes) -> None:
        self.head = data

    def conclude(self, total_size: int, tail: bytes) -> Finding | None:
        if not self.head.startswith(LUKS_MAGIC):
            return None
        version = (struct.unpack(">H", self.head[6:8])[0]
                   if len(self.head) >= 8 else None)
        return Finding(self.name, None, [
            f"LUKS-encrypted image (LUKS version {version}) is not accepted: "
            "its content cannot be inspected"], {"version": version})
