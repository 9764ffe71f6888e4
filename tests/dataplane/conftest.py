"""The data plane's tests run real kernel networking in namespaces they
make (a stack namespace, guest namespaces, a veth to the machine whose
address range no route of the machine uses), and remove them all at the
end, also when a test fails. They need root, like the stack itself."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.dataplane.world import Topology, World


@pytest.fixture
def world(tmp_path) -> Iterator[World]:
    made = World(tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def topo(world) -> Topology:
    return Topology(world)
