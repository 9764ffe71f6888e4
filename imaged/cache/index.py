"""The cache's index: which images are cached (with their size, hits and
times) and which are queued for prefetching.

Why SQLite (and not one file per entry with extended attributes): every
gunicorn worker of imaged-api counts hits and moves last_accessed of the
same entries at the same time, and "add one to hits" must not lose an
update. SQLite does that read-modify-write in one statement under its own
cross-process lock, WAL mode lets readers go on while one worker writes,
and a listing or an LRU order is one query. Extended attributes would need
a lock of our own around every counter, and not every filesystem keeps
them (Glance's default cache driver is SQLite too).

A connection is opened per operation: connections must not cross threads,
and opening a local SQLite file costs far less than the download it serves.
"""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS cached_images (
    image_id      TEXT PRIMARY KEY,
    location      TEXT NOT NULL,     -- the location the copy was made from
    checksum      TEXT,              -- the image's md5 when it was copied
    size          INTEGER NOT NULL,
    hits          INTEGER NOT NULL DEFAULT 0,
    last_accessed REAL NOT NULL,     -- epoch seconds
    last_modified REAL NOT NULL      -- epoch seconds: when the copy was completed
);
CREATE TABLE IF NOT EXISTS queued_images (
    image_id  TEXT PRIMARY KEY,
    queued_at REAL NOT NULL
);
"""
BUSY_TIMEOUT = 30.0


@dataclass(frozen=True)
class CachedEntry:
    image_id: str
    location: str
    checksum: str | None
    size: int
    hits: int
    last_accessed: float
    last_modified: float

    def view(self) -> dict:
        """As GET /v2/cache shows it (Glance's fields)."""
        return {"image_id": self.image_id, "hits": self.hits,
                "last_accessed": self.last_accessed, "last_modified": self.last_modified,
                "size": self.size}


class CacheIndex:
    def __init__(self, path: Path):
        self.path = path
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One transaction: committed when the block ends, rolled back on error."""
        with closing(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT)) as db, db:
            yield db

    # -- cached images ---------------------------------------------------------------------
    def get(self, image_id: str) -> CachedEntry | None:
        with self._connect() as db:
            row = db.execute("SELECT image_id, location, checksum, size, hits, last_accessed, "
                             "last_modified FROM cached_images WHERE image_id = ?",
                             (image_id,)).fetchone()
        return CachedEntry(*row) if row else None

    def entries(self) -> list[CachedEntry]:
        """Every cached image, least recently used first."""
        with self._connect() as db:
            rows = db.execute("SELECT image_id, location, checksum, size, hits, last_accessed, "
                              "last_modified FROM cached_images "
                              "ORDER BY last_accessed, last_modified").fetchall()
        return [CachedEntry(*row) for row in rows]

    def add(self, image_id: str, location: str, checksum: str | None, size: int) -> None:
        """Record a copy that has just been completed (replacing an older record)."""
        now = time.time()
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO cached_images (image_id, location, checksum, "
                       "size, hits, last_accessed, last_modified) VALUES (?, ?, ?, ?, 0, ?, ?)",
                       (image_id, location, checksum, size, now, now))
            db.execute("DELETE FROM queued_images WHERE image_id = ?", (image_id,))

    def hit(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE cached_images SET hits = hits + 1, last_accessed = ? "
                       "WHERE image_id = ?", (time.time(), image_id))

    def remove(self, image_id: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM cached_images WHERE image_id = ?",
                              (image_id,)).rowcount > 0

    # -- the prefetch queue ----------------------------------------------------------------
    def queue(self, image_id: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO queued_images (image_id, queued_at) VALUES (?, ?)",
                       (image_id, time.time()))

    def queued(self) -> list[str]:
        """Queued image ids, in the order the prefetcher takes them."""
        with self._connect() as db:
            rows = db.execute("SELECT image_id FROM queued_images "
                              "ORDER BY queued_at, image_id").fetchall()
        return [row[0] for row in rows]

    def dequeue(self, image_id: str) -> bool:
        with self._connect() as db:
            return db.execute("DELETE FROM queued_images WHERE image_id = ?",
                              (image_id,)).rowcount > 0

    def clear_queue(self) -> int:
        with self._connect() as db:
            return db.execute("DELETE FROM queued_images").rowcount
