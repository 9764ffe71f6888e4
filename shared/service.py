"""What every PocketStack service has: its config file, its database, its
policy, its notifier, its token validator; and the options they share.

A service's `main()` does three things: load_service() (which stops with a
clear message on a bad config value), build its Flask app, and serve() it.

Every service's config schema is made from the options here, and the
`pocketstack` command reads every schema: so this module imports what the
options need at the top, and the database, policy and token machinery only
in the functions that build a running service (a `pocketstack down` needs
none of it).
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shared.config import Config, ConfigError, Opt, Schema, ensure_config_file, load_config
from shared.paths import StateLayout

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

    from shared.auth import TokenValidator
    from shared.events import Notifier
    from shared.policy import PolicyEnforcer, RuleDefault
    from shared.tokens import TokenCodec

LOOPBACK = "127.0.0.1"


def api_opts(port: int, workers: int = 1) -> list[Opt]:
    return [
        Opt("bind_host", LOOPBACK, "Address the API listens on. Loopback by default: "
            "set another address only on a network you trust."),
        Opt("bind_port", port, "TCP port of the API.", kind="int", minimum=1, maximum=65535),
        Opt("workers", workers, "Worker processes serving the API. One, with its "
            "threads, serves a class; more use more cores, and each costs its own "
            "memory.", kind="int", minimum=1, maximum=64),
        Opt("threads", 16, "Threads per worker process.", kind="int", minimum=1, maximum=256),
    ]


def database_opts() -> list[Opt]:
    return [Opt("connection", "", "SQLAlchemy database URL. Empty: an SQLite file under "
                "the state directory (lib/<service>.sqlite).")]


def auth_opts() -> list[Opt]:
    return [
        Opt("identity_url", f"http://{LOOPBACK}:5000", "Where identity answers."),
        Opt("revocation_check_interval", 1.0, "Seconds a service keeps identity's list "
            "of revoked tokens before asking again (0: ask on every request).",
            kind="float", minimum=0, maximum=3600),
    ]


def service_auth_opts(username: str) -> list[Opt]:
    return [
        Opt("username", username, "The service's own user, used to call other services."),
        Opt("password", "", "The service user's password (generated at set-up).", secret=True),
        Opt("project_name", "service", "The service user's project."),
    ]


def common_sections(port: int, username: str | None, workers: int = 1) -> dict[str, list[Opt]]:
    sections = {
        "api": api_opts(port, workers),
        "database": database_opts(),
        "auth": auth_opts(),
        "policy": [Opt("policy_file", "", "The operator's policy overrides. Empty: "
                       "<service>-policy.yaml (or .json) beside this file.")],
        "logging": [Opt("debug", False, "Log debug messages.", kind="bool")],
    }
    if username:
        sections["service_auth"] = service_auth_opts(username)
    return sections


@dataclass
class Service:
    name: str
    state: StateLayout
    conf: Config
    sessions: sessionmaker
    notifier: Notifier
    policy: PolicyEnforcer
    codec: TokenCodec
    extras: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.conf.api.bind_host}:{self.conf.api.bind_port}"


def load_config_or_exit(schema: Schema, state: StateLayout) -> Config:
    """Load the service's config, writing the commented defaults at first
    start. A bad value ends the process with the message on stderr."""
    path = ensure_config_file(schema, state.etc)
    try:
        return load_config(schema, path)
    except ConfigError as exc:
        print(f"error: {exc} (in {path})", file=sys.stderr)
        raise SystemExit(2) from None


def database_url(conf: Config, state: StateLayout, name: str) -> str:
    return conf.database.connection or f"sqlite:///{state.lib / (name + '.sqlite')}"


def policy_file(conf: Config, state: StateLayout, name: str) -> Path:
    return Path(conf.policy.policy_file) if conf.policy.policy_file \
        else state.etc / f"{name}-policy.yaml"


def build_service(name: str, conf: Config, state: StateLayout,
                  rules: list[RuleDefault]) -> Service:
    """Open the service's database, policy and keys. Runs in each worker
    process (after the config was checked once, in the parent)."""
    from shared import logs
    from shared.db import make_engine, session_factory
    from shared.events import Notifier, create_tables
    from shared.policy import PolicyEnforcer
    from shared.tokens import KeyRepository, TokenCodec
    logs.configure(conf.logging.debug)
    engine = make_engine(database_url(conf, state, name))
    create_tables(engine)
    sessions = session_factory(engine)
    keys = KeyRepository(state.fernet_keys)
    return Service(name=name, state=state, conf=conf, sessions=sessions,
                   notifier=Notifier(name, sessions),
                   policy=PolicyEnforcer(rules, policy_file(conf, state, name)),
                   codec=TokenCodec(keys), extras={"engine": engine})


def remote_validator(service: Service) -> TokenValidator:
    """For every service but identity: tokens are checked locally against the
    shared keys, and revocations come from identity's OS-REVOKE API (one
    list for the services of a process)."""
    from shared.auth import TokenValidator
    from shared.clients import ServiceSession, fetch_revocations
    from shared.revocation import shared_cache
    session = ServiceSession.from_config(service.conf, service.state.service_tokens)
    identity_url = service.conf.auth.identity_url
    revocations = shared_cache(str(service.state.root), identity_url,
                               lambda: fetch_revocations(session),
                               service.conf.auth.revocation_check_interval)
    return TokenValidator(service.codec, revocations, identity_url)


@dataclass(frozen=True)
class ServiceDefinition:
    """An API service as a process runs it: its name, its config schema,
    prepare(conf, state) (run once before serving: migrations, host
    daemons: work the workers must not race for) and make_app(conf, state)
    (its Flask app, built in the process that serves it).

    main() is the service's own process (`python -m identity.app`);
    config() and start() are what a process serving several services
    (pocketstack's one-process mode: pocketstack/together.py) asks of each."""
    name: str
    description: str
    schema: Callable[[], Schema]
    make_app: Callable
    prepare: Callable | None = None

    def config(self, state: StateLayout) -> Config:
        """Its config, checked: a bad value stops the process here, with the
        message."""
        from shared import logs
        conf = load_config_or_exit(self.schema(), state)
        logs.configure(conf.logging.debug)
        return conf

    def start(self, conf: Config, state: StateLayout) -> Callable:
        """Run prepare; returns the app's factory."""
        if self.prepare is not None:
            self.prepare(conf, state)
        return lambda: self.make_app(conf, state)

    def main(self, argv: list[str] | None = None) -> None:
        """Parse --state-dir, load(), then serve the app in gunicorn workers."""
        from shared.serve import serve
        state = parse_state_dir(argv, self.description)
        conf = self.config(state)
        serve(self.start(conf, state), host=conf.api.bind_host, port=conf.api.bind_port,
              workers=conf.api.workers, threads=conf.api.threads, name=self.name)


def parse_state_dir(argv: list[str] | None, description: str) -> StateLayout:
    """The --state-dir every service's command line takes, created if new."""
    import argparse

    from shared.paths import resolve_state_dir
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--state-dir", help="state directory (default: $POCKETSTACK_STATE_DIR "
                                            "or /var/lib/pocketstack)")
    args = parser.parse_args(argv)
    return StateLayout(resolve_state_dir(args.state_dir)).create()
