"""dashboard.conf: the options of the web dashboard."""
from __future__ import annotations

import dataclasses

from shared.config import Opt, Schema
from shared.service import LOOPBACK, api_opts

DEFAULT_PORT = 8000
# Each open timeline holds a thread for as long as it stays open.
DEFAULT_THREADS = 64


def schema() -> Schema:
    # One worker process: the sessions (and the tokens in them) live in its
    # memory, never on disk; its threads serve the pages and the timelines.
    api = [dataclasses.replace(opt, default=DEFAULT_THREADS) if opt.name == "threads" else opt
           for opt in api_opts(DEFAULT_PORT, workers=1)]
    result = Schema("dashboard.conf", {"api": api})
    result.add("auth", [
        Opt("identity_url", f"http://{LOOPBACK}:5000", "Where identity answers: users log "
            "in there, and its catalog says where every other service is."),
    ])
    result.add("dashboard", [
        Opt("session_idle_timeout", 3600, "Seconds a session may stay unused before it "
            "ends (its token is revoked then, as at logout).", kind="int", minimum=60,
            maximum=86400),
        Opt("events_poll_interval", 0.5, "Seconds between two reads of the services' "
            "events while a timeline is open.", kind="float", minimum=0.2, maximum=60),
        Opt("api_timeout", 60.0, "Seconds to wait for a service's answer (uploads: for "
            "each piece of the data).", kind="float", minimum=1, maximum=3600),
    ])
    result.add("logging", [Opt("debug", False, "Log debug messages.", kind="bool")])
    return result
