"""`pocketstack up` twice starts nothing twice; status shows each service;
down stops exactly what up started; a service that dies in its start fails
up; tokens expire as configured."""
from __future__ import annotations

import time

import pytest
import requests

from pocketstack import processes
from tests.stack import Stack, pocketstack


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, stack):
    """A stack of this module's own (it is stopped and restarted here)."""
    state = tmp_path_factory.mktemp("own-stack")
    (state / "etc").mkdir()
    # Config is read at start: a short token lifetime for the expiry test.
    port = 5000 + stack.port_offset + 50
    (state / "etc" / "identity.conf").write_text(
        f"[token]\nexpiration = 3\n\n[api]\nbind_port = {port}\n\n[catalog]\n"
        f"identity_url = http://127.0.0.1:{port}\n")
    own = Stack(state, stack.port_offset + 50)
    result = own.up()
    assert result.returncode == 0, result.stderr
    yield own
    own.down()


def status_lines(stack) -> dict[str, list[str]]:
    result = pocketstack(stack.state_dir, "status", check=False)
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    return {row[0]: row[1:] for row in rows}


def test_up_again_starts_nothing_twice(own_stack):
    before = status_lines(own_stack)
    assert before["identity"][0] == "up"
    again = own_stack.up()
    assert again.returncode == 0
    assert "already running" in again.stdout
    assert "nothing was started" in again.stdout
    assert status_lines(own_stack) == before


def test_up_prints_endpoints_credentials_and_a_first_command(own_stack):
    output = own_stack.up().stdout
    assert f"http://127.0.0.1:{own_stack.port('identity')}" in output
    assert str(own_stack.state_dir / "etc" / "credentials") in output
    assert str(own_stack.clouds_yaml) in output
    assert "openstack --os-cloud pocketstack token issue" in output
    assert f"export OS_CLIENT_CONFIG_FILE={own_stack.clouds_yaml}" in output


def test_status_shows_port_and_pid(own_stack):
    identity = status_lines(own_stack)["identity"]
    state, port, pid = identity[:3]
    assert (state, int(port)) == ("up", own_stack.port("identity"))
    assert int(pid) == int((own_stack.state_dir / "run" / "identity.pid").read_text())


def test_tokens_expire_after_the_configured_lifetime(own_stack):
    token = own_stack.token("demo")
    url = own_stack.url("identity") + "/v3/auth/projects"
    assert requests.get(url, headers={"X-Auth-Token": token}).status_code == 200
    time.sleep(3.5)
    response = requests.get(url, headers={"X-Auth-Token": token})
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_down_stops_what_up_started_and_up_restarts_it(own_stack):
    pid = int((own_stack.state_dir / "run" / "identity.pid").read_text())
    down = own_stack.down()
    assert "identity" in down.stdout and "stopped" in down.stdout
    assert status_lines(own_stack)["identity"][0] == "down"
    assert not (own_stack.state_dir / "run" / "identity.pid").exists()
    assert "Nothing was running" in own_stack.down().stdout
    assert own_stack.up().returncode == 0
    assert int((own_stack.state_dir / "run" / "identity.pid").read_text()) != pid
    assert own_stack.token("demo")


def test_up_fails_for_a_service_that_dies_in_its_start(own_stack):
    """A service listens before it has built its app (its port answers
    early): one that then dies (here computed, its database out of reach)
    is no service started, and up says so."""
    config = own_stack.state_dir / "etc" / "computed.conf"
    kept = config.read_text()
    pid = processes.running_pid(own_stack.state_dir / "run" / "computed.pid", "computed.app")
    assert pid
    processes.stop(pid)
    unreachable = own_stack.state_dir / "no-such-directory" / "computed.sqlite"
    own_stack.set_option("computed.conf", "database", "connection", f"sqlite:///{unreachable}")
    try:
        result = own_stack.up(check=False)
        assert result.returncode != 0, result.stdout
        assert "computed         started" not in result.stdout
        assert "computed did not start" in result.stderr
        assert status_lines(own_stack)["computed"][0] == "down"
    finally:
        config.write_text(kept)
    assert own_stack.up().returncode == 0
    assert status_lines(own_stack)["computed"][0] == "up"
