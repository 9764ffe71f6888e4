"""Waiting out the services' cache of revoked tokens.

identity refuses a revoked token at once; every other service keeps
identity's revocation list for `[auth] revocation_check_interval` seconds
(as keystonemiddleware caches tokens), so a test that revokes a token and
then calls another service waits for that cache to expire first."""
from __future__ import annotations

import time

from shared.service import auth_opts

# The default the test stacks run with, read from the option itself.
REVOCATION_CHECK_INTERVAL: float = next(
    opt.default for opt in auth_opts() if opt.name == "revocation_check_interval")


def wait_out_revocation_cache(slack: float = 0.3) -> None:
    """Sleep until every service has asked identity for revocations again."""
    time.sleep(REVOCATION_CHECK_INTERVAL + slack)
