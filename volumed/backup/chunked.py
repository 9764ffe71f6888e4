"""Cinder's chunked backup format, over any BackupStore (base.py).

A backup of a volume of N bytes is laid out as Cinder's chunked driver lays
it out (cinder/backup/chunkeddriver.py, version 1.0.0):

    <prefix>-00001 ...        the data, one object per chunk of
                              backup_file_size bytes (the last may be
                              shorter), each compressed on its own
    <prefix>_sha256file       JSON: the sha256 of every block of
                              backup_sha_block_size_bytes, in order
    <prefix>_metadata         JSON: every object with its offset, length,
                              compression and md5; written last, so a backup
                              without it is not a backup

An incremental backup reads its parent's sha256file and stores only the runs
of blocks whose sha256 changed (each run an object, at its offset); a
restore lays down the full backup, then each increment in order.

Two differences from Cinder, both about memory: a chunk is streamed through
the compressor instead of being read whole (Cinder holds a 1.9 GB chunk in
memory), so each object is compressed with the configured algorithm even
when that does not make it smaller (Cinder then stores it uncompressed); and
a restore checks each object's md5, which Cinder records but never reads.
"""
from __future__ import annotations

import bz2
import hashlib
import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from volumed.backup.base import BackupStore, BackupStoreError, ObjectWriter

VERSION = "1.0.0"
READ_SIZE = 1024 * 1024  # bytes read from the volume at a time (a multiple of any block)
COMPRESSIONS = {"none": "none", "off": "none", "no": "none", "zlib": "zlib",
                "gzip": "zlib", "bz2": "bz2", "bzip2": "bz2"}


class BackupCancelled(Exception):
    """The backup or restore was told to stop (its backup is being deleted)."""


@dataclass(frozen=True)
class BackupRecord:
    """What the format needs to know of one backup (from volumed's table)."""
    id: str
    volume_id: str
    container: str
    prefix: str                 # Cinder's service_metadata: the objects' name prefix
    name: str | None = None
    description: str | None = None
    created_at: str = ""
    parent_id: str | None = None


@dataclass(frozen=True)
class ChunkSettings:
    chunk_size: int = 61035 * 32768     # Cinder's backup_file_size
    sha_block_size: int = 32768         # Cinder's backup_sha_block_size_bytes
    compression: str = "zlib"           # Cinder's backup_compression_algorithm


def metadata_name(prefix: str) -> str:
    return f"{prefix}_metadata"


def sha256file_name(prefix: str) -> str:
    return f"{prefix}_sha256file"


class ChunkedBackup:
    def __init__(self, store: BackupStore, settings: ChunkSettings):
        if settings.sha_block_size <= 0 or settings.chunk_size % settings.sha_block_size:
            raise ValueError("Chunk size is not multiple of block size for creating hash.")
        if settings.compression not in COMPRESSIONS:
            raise ValueError(f"unsupported compression algorithm: {settings.compression}")
        self.store = store
        self.settings = settings
        self.zero_block_sha = hashlib.sha256(bytes(settings.sha_block_size)).hexdigest()

    # --- backup --------------------------------------------------------------------
    def backup(self, record: BackupRecord, volume: BinaryIO, size: int,
               parent: BackupRecord | None = None,
               progress: Callable[[int], None] | None = None,
               cancelled: Callable[[], bool] = lambda: False) -> int:
        """Copy `size` bytes of `volume` into the store as the backup
        `record` (only what changed since `parent`, if given). Returns the
        number of data objects. On any failure every object of the backup
        is removed before the error is passed on: nothing half-written stays."""
        parent_shas = self._parent_shas(parent) if parent else None
        self.store.put_container(record.container)
        try:
            objects, shas = self._copy(record, volume, size, parent_shas, progress, cancelled)
            self._write_json(record.container, sha256file_name(record.prefix), {
                **self._header(record), "chunk_size": self.settings.sha_block_size,
                "sha256s": shas})
            self._write_json(record.container, metadata_name(record.prefix), {
                **self._header(record), "objects": objects, "parent_id": record.parent_id,
                "volume_meta": None})
        except BaseException:
            self.delete(record.container, record.prefix)
            raise
        return len(objects)

    def _parent_shas(self, parent: BackupRecord) -> list[str]:
        shafile = self._read_json(parent.container, sha256file_name(parent.prefix))
        if shafile["chunk_size"] != self.settings.sha_block_size:
            raise BackupStoreError(
                f"Hash block size has changed since the last backup. New hash block size: "
                f"{self.settings.sha_block_size}. Old hash block size: "
                f"{shafile['chunk_size']}. Do a full backup.")
        return list(shafile["sha256s"])

    def _copy(self, record: BackupRecord, volume: BinaryIO, size: int,
              parent_shas: list[str] | None, progress, cancelled) -> tuple[list, list]:
        objects: list[dict] = []
        shas: list[str] = []
        volume.seek(0)
        chunk_start = 0
        while chunk_start < size:
            if cancelled():
                raise BackupCancelled(f"backup {record.id} was cancelled")
            chunk_end = min(size, chunk_start + self.settings.chunk_size)
            self._copy_chunk(record, volume, chunk_start, chunk_end, parent_shas, objects,
                             shas)
            chunk_start = chunk_end
            if progress is not None:
                progress(chunk_start)
        return objects, shas

    def _copy_chunk(self, record: BackupRecord, volume: BinaryIO, chunk_start: int,
                    chunk_end: int, parent_shas: list[str] | None, objects: list[dict],
                    shas: list[str]) -> int:
        """One chunk: each run of changed blocks (the whole chunk, for a full
        backup) becomes one object. Returns where the chunk ended."""
        block = self.settings.sha_block_size
        current: _ObjectInProgress | None = None
        position = chunk_start
        try:
            while position < chunk_end:
                data = volume.read(min(READ_SIZE, chunk_end - position))
                if not data:
                    raise BackupStoreError(f"the volume ended at byte {position}, "
                                           f"before its size ({chunk_end})")
                view = memoryview(data)
                for offset in range(0, len(view), block):
                    piece = view[offset:offset + block]
                    sha = self._sha(piece)
                    index = len(shas)
                    shas.append(sha)
                    changed = parent_shas is None or index >= len(parent_shas) or \
                        parent_shas[index] != sha
                    if changed:
                        if current is None:
                            current = self._open_object(record, len(objects) + 1,
                                                        position + offset)
                        current.add(piece)
                    elif current is not None:
                        objects.append(current.finish())
                        current = None
                position += len(data)
            if current is not None:
                objects.append(current.finish())
                current = None
        finally:
            if current is not None:
                current.writer.discard()
        return position

    def _sha(self, piece: memoryview) -> str:
        if len(piece) == self.settings.sha_block_size and _is_zero(piece):
            return self.zero_block_sha
        return hashlib.sha256(piece).hexdigest()

    def _open_object(self, record: BackupRecord, number: int, offset: int) -> _ObjectInProgress:
        name = f"{record.prefix}-{number:05d}"
        writer = self.store.object_writer(record.container, name)
        return _ObjectInProgress(name, offset, writer, COMPRESSIONS[self.settings.compression])

    # --- restore -------------------------------------------------------------------
    def restore(self, chain: list[BackupRecord], volume: BinaryIO, volume_is_new: bool,
                cancelled: Callable[[], bool] = lambda: False) -> None:
        """Write the backups of `chain` (the full backup first, then each
        incremental one) into `volume`. Into a new (all-zero) volume the
        full backup's zero runs are skipped, so the volume stays sparse."""
        for layer, record in enumerate(chain):
            metadata = self._read_json(record.container, metadata_name(record.prefix))
            if metadata.get("version") != VERSION:
                raise BackupStoreError(f"No support to restore backup version "
                                       f"{metadata.get('version')}")
            self._check_objects(record, metadata["objects"])
            for entry in metadata["objects"]:
                if cancelled():
                    raise BackupCancelled(f"the restore of backup {chain[-1].id} was "
                                          f"cancelled")
                name, info = next(iter(entry.items()))
                self._restore_object(record, name, info, volume,
                                     skip_zeros=volume_is_new and layer == 0)
        volume.flush()

    def _check_objects(self, record: BackupRecord, objects: list[dict]) -> None:
        listed = sorted(name for entry in objects for name in entry)
        present = sorted(name for name in self.store.list_objects(record.container,
                                                                  record.prefix)
                         if name not in (metadata_name(record.prefix),
                                         sha256file_name(record.prefix)))
        if listed != present:
            raise BackupStoreError("restore_backup aborted, actual object list does not "
                                   "match object list stored in metadata.")

    def _restore_object(self, record: BackupRecord, name: str, info: dict, volume: BinaryIO,
                        skip_zeros: bool) -> None:
        decompress = _decompressor(info["compression"])
        md5 = hashlib.md5(usedforsecurity=False)
        position = info["offset"]
        with self.store.open_object(record.container, name) as source:
            while True:
                raw = source.read(READ_SIZE)
                for data in decompress(raw):
                    md5.update(data)
                    if not (skip_zeros and _is_zero(data)):
                        volume.seek(position)
                        volume.write(data)
                    position += len(data)
                if not raw:
                    break
        if position - info["offset"] != info["length"]:
            raise BackupStoreError(f"object {name} holds {position - info['offset']} bytes, "
                                   f"its metadata says {info['length']}")
        if md5.hexdigest() != info["md5"]:
            raise BackupStoreError(f"object {name} is damaged: its md5 does not match the "
                                   f"backup's metadata")

    # --- delete --------------------------------------------------------------------
    def delete(self, container: str | None, prefix: str | None) -> None:
        """Remove every object of the backup (none is not an error), and
        its container if nothing else is in it."""
        if not container or not prefix:
            return
        for name in self.store.list_objects(container, prefix):
            self.store.delete_object(container, name)
        self.store.prune_container(container)

    # --- the two JSON files ------------------------------------------------------------
    def _header(self, record: BackupRecord) -> dict:
        return {"version": VERSION, "backup_id": record.id, "volume_id": record.volume_id,
                "backup_name": record.name, "backup_description": record.description,
                "created_at": record.created_at}

    def _write_json(self, container: str, name: str, document: dict) -> None:
        with self.store.object_writer(container, name) as writer:
            writer.write(json.dumps(document, sort_keys=True, indent=2).encode())

    def _read_json(self, container: str, name: str) -> dict:
        with self.store.open_object(container, name) as source:
            return json.loads(source.read().decode())


class _ObjectInProgress:
    """One data object being written: compressed as it comes, md5 of the
    raw bytes kept for the metadata."""

    def __init__(self, name: str, offset: int, writer: ObjectWriter, compression: str):
        self.name, self.offset, self.writer = name, offset, writer
        self.compression = compression
        self.length = 0
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.compressor = zlib.compressobj() if compression == "zlib" else \
            bz2.BZ2Compressor() if compression == "bz2" else None

    def add(self, data: memoryview) -> None:
        self.length += len(data)
        self.md5.update(data)
        try:
            self.writer.write(self.compressor.compress(data) if self.compressor
                              else bytes(data))
        except BaseException:
            self.writer.discard()
            raise

    def finish(self) -> dict:
        try:
            if self.compressor is not None:
                self.writer.write(self.compressor.flush())
        except BaseException:
            self.writer.discard()
            raise
        self.writer.commit()
        return {self.name: {"offset": self.offset, "length": self.length,
                            "compression": self.compression, "md5": self.md5.hexdigest()}}


def _is_zero(data: bytes | memoryview) -> bool:
    """All zero bytes (bytes compare in C; two memoryviews compare byte by
    byte in Python, a thousand times slower)."""
    return bytes(data) == bytes(len(data))


def _decompressor(compression: str) -> Callable[[bytes], list[bytes]]:
    """A function fed the object's bytes in order (b"" at the end) that
    returns the decompressed pieces, none larger than READ_SIZE."""
    algorithm = COMPRESSIONS.get(compression)
    if algorithm == "none":
        return lambda raw: [raw] if raw else []
    if algorithm == "zlib":
        engine = zlib.decompressobj()

        def zlib_pieces(raw: bytes) -> list[bytes]:
            pieces, pending = [], raw
            while True:
                piece = engine.decompress(pending, READ_SIZE)
                pending = engine.unconsumed_tail
                if piece:
                    pieces.append(piece)
                if not pending and len(piece) < READ_SIZE:
                    break
            if not raw:
                rest = engine.flush()
                if rest:
                    pieces.append(rest)
            return pieces
        return zlib_pieces
    if algorithm == "bz2":
        bz_engine = bz2.BZ2Decompressor()

        def bz2_pieces(raw: bytes) -> list[bytes]:
            pieces: list[bytes] = []
            if bz_engine.eof:
                return pieces
            piece = bz_engine.decompress(raw, READ_SIZE)
            while True:
                if piece:
                    pieces.append(piece)
                if bz_engine.eof or bz_engine.needs_input:
                    return pieces
                piece = bz_engine.decompress(b"", READ_SIZE)
        return bz2_pieces
    raise BackupStoreError(f"unsupported compression algorithm: {compression}")
