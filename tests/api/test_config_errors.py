"""A bad config value stops the service with a message naming the file, the
section, the option and what is allowed; config is written at first start
with commented defaults."""
from __future__ import annotations

import subprocess
import sys

from tests.stack import REPO, pocketstack


def run_identity(state_dir):
    return subprocess.run([sys.executable, "-m", "identity.app", "--state-dir",
                           str(state_dir)], capture_output=True, text=True, timeout=60, cwd=REPO)


def test_first_start_writes_commented_defaults(stack):
    text = (stack.state_dir / "etc" / "identity.conf").read_text()
    assert "[token]" in text and "#expiration = 3600" in text
    assert "# Allowed: an integer from 1 to 604800." in text
    assert "#bind_host = 127.0.0.1" in text


def test_bad_value_stops_the_service_with_a_clear_message(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "identity.conf").write_text("[token]\nexpiration = soon\n")
    direct = run_identity(tmp_path)
    assert direct.returncode == 2
    assert ("identity.conf: [token] expiration: 'soon' is not allowed "
            "(allowed: an integer from 1 to 604800)") in direct.stderr
    via_up = pocketstack(tmp_path, "up", "--port-offset", "31000", check=False)
    assert via_up.returncode == 2
    assert "identity.conf: [token] expiration" in via_up.stderr
    assert not list((tmp_path / "run").glob("*.pid")), "nothing was started"


def test_out_of_range_and_unknown_options_are_named(tmp_path):
    (tmp_path / "etc").mkdir()
    conf = tmp_path / "etc" / "identity.conf"
    conf.write_text("[api]\nbind_port = 70000\n")
    result = run_identity(tmp_path)
    assert result.returncode == 2
    assert "[api] bind_port: '70000' is out of range (allowed: an integer from 1 to 65535)" \
        in result.stderr
    conf.write_text("[api]\nbind_prot = 5000\n")
    result = run_identity(tmp_path)
    assert result.returncode == 2
    assert "[api] bind_prot: unknown option" in result.stderr
    conf.write_text("[logging]\ndebug = maybe\n")
    result = run_identity(tmp_path)
    assert "[logging] debug: 'maybe' is not allowed (allowed: true or false)" in result.stderr
