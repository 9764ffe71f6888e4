"""A secret two services share is made once, private, and the same for both."""
from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor

from shared.metadata_proxy import sign, signature_is_valid
from shared.secrets import shared_secret


def test_the_first_caller_makes_it_private_and_later_callers_read_it(tmp_path):
    path = tmp_path / "etc" / "metadata-proxy-secret"
    first = shared_secret(path)
    assert len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert shared_secret(path) == first


def test_racing_callers_all_end_with_the_same_secret(tmp_path):
    path = tmp_path / "secret"
    with ThreadPoolExecutor(8) as pool:
        values = set(pool.map(lambda _: shared_secret(path), range(32)))
    assert len(values) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]   # no temporary file left


def test_a_signature_holds_only_for_its_instance_and_secret():
    signature = sign("s3cret", "instance-1")
    assert signature_is_valid("s3cret", "instance-1", signature)
    assert not signature_is_valid("s3cret", "instance-2", signature)
    assert not signature_is_valid("other", "instance-1", signature)
