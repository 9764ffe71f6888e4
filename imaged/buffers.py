"""A small pool of big reusable buffers for moving upload data.

Receiving into a preallocated buffer (socket.recv_into) instead of creating
a new bytes object per read saves an allocation and a copy per chunk. The
pool is bounded, which is also the back-pressure: when the hash threads fall
behind, the reader waits for a free buffer instead of queueing the whole
upload in memory (at most count x size bytes per upload).
"""
from __future__ import annotations

import queue


class BufferPool:
    def __init__(self, size: int, count: int = 4):
        self.size = size
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(count):
            self._free.put(bytearray(size))

    def acquire(self) -> bytearray:
        return self._free.get()

    def release(self, buffer: bytearray) -> None:
        self._free.put(buffer)
