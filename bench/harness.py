"""What every benchmark does around its measurements: a stack of its own in
a temporary state directory on shifted ports, torn down afterwards, and a
description of the machine printed beside the figures."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.stack import Stack, port_offset_for


@contextmanager
def own_stack(port_base: int) -> Iterator[Stack]:
    """A stack started with `pocketstack up` (the tiny image built once into
    the test cache) and stopped at the end, whatever happened: a failed
    `up` leaves what it made (its namespace above all) for `down`, and the
    state directory it would need is removed with the benchmark's. Its ports
    are shifted from $POCKETSTACK_TEST_PORT_BASE when set (as the tests'),
    else from the benchmark's own `port_base`."""
    os.environ.setdefault("POCKETSTACK_IMAGE_CACHE",
                          os.environ.get("POCKETSTACK_TEST_CACHE",
                                         "/var/cache/pocketstack-test"))
    base = int(os.environ.get("POCKETSTACK_TEST_PORT_BASE", port_base))
    with tempfile.TemporaryDirectory(prefix="pocketstack-bench-") as tmp:
        stack = Stack(Path(tmp), port_offset_for("master", base=base))
        with stack.running():  # `down` even when `up` fails half-way
            yield stack


def host_figures() -> dict:
    return {"cpus": os.cpu_count(), "load_average_1m": os.getloadavg()[0]}
