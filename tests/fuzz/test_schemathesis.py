"""Garbage in, no 5xx: Schemathesis against every API of a stack of its own,
as admin, from each service's OpenAPI document (see schemathesis_run.py).

Each service must answer every generated request without a 5xx, with a
status, a content type and a body its own document allows. The counts of the
run (operations, test cases, failures by kind) are printed at the end of the
session (conftest.py). The stack is this module's own: the run creates, changes and deletes
what it likes as admin, which no other test should have to live with.
"""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests

from tests.fuzz import conftest, schemathesis_run
from tests.stack import Stack, port_offset_for

# Test cases per operation in the fuzzing phase (the coverage phase adds its
# own); `make fuzz` runs the same with more.
MAX_EXAMPLES = int(os.environ.get("POCKETSTACK_FUZZ_EXAMPLES", "10"))


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory, request) -> Iterator[Stack]:
    """The stack, with a quota of 0 servers: POST /servers is fuzzed too,
    and a body that passes every check ends in 403, never in a guest."""
    worker = getattr(request.config, "workerinput", {}).get("workerid", "master")
    running = Stack(tmp_path_factory.mktemp("fuzzstack"), port_offset_for(worker))
    running.started().down()
    running.set_option("computed.conf", "quota", "instances", "0")
    running.started()
    assert not schemathesis_run.servers_may_boot(running.state_dir)
    yield running
    running.down()


@pytest.fixture(scope="module")
def admin_login(fuzz_stack) -> tuple[str, str]:
    response = fuzz_stack.login("admin")
    assert response.status_code == 201, response.text
    return response.headers["X-Subject-Token"], response.json()["token"]["project"]["id"]


@pytest.fixture(scope="module")
def hook_ids(fuzz_stack, admin_login) -> dict[str, str]:
    """A real flavor and image for POST /servers' bodies (tests/fuzz/hooks.py),
    read before any service is fuzzed."""
    return schemathesis_run.real_flavor_and_image(fuzz_stack.url("computed"), admin_login[0])


@pytest.mark.parametrize("service", schemathesis_run.SERVICES)
def test_no_server_error_and_every_answer_as_documented(service, fuzz_stack, admin_login,
                                                        hook_ids, tmp_path, record_property):
    token, project_id = admin_login
    result = schemathesis_run.run(service, fuzz_stack.url(service), token, project_id,
                                  tmp_path / service, MAX_EXAMPLES, servers_boot=False,
                                  hook_ids=hook_ids)
    record_property(conftest.PROPERTY, result.line())
    assert result.tested == result.operations > 0, result.output[-3000:]
    assert result.cases > 0, result.output[-3000:]
    assert result.passed, f"{result.line()}\n{result.output[-6000:]}"
    if service == "computed":   # POST /servers was sent; the quota let nothing through
        servers = requests.get(f"{fuzz_stack.url('computed')}/v2.1/servers",
                               params={"all_tenants": "1"},
                               headers={"X-Auth-Token": token}, timeout=30)
        assert servers.status_code == 200 and servers.json()["servers"] == [], servers.text
