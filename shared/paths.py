"""Where PocketStack keeps its state.

Everything a running stack owns lives under one state directory, so that a
student can look at it, back it up, or throw it away with one `rm -rf`:

    <state>/etc/   config files, credentials, clouds.yaml, token keys (0600)
    <state>/log/   one log file per service
    <state>/run/   pid files of what `pocketstack up` started
    <state>/lib/   databases and data (images, volumes, instances)
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_STATE_DIR = "/var/lib/pocketstack"
STATE_DIR_ENV = "POCKETSTACK_STATE_DIR"


def resolve_state_dir(option: str | None = None) -> Path:
    """The state directory: the command-line option wins, then the
    environment variable, then the default."""
    chosen = option or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR
    return Path(chosen).absolute()


@dataclass(frozen=True)
class StateLayout:
    root: Path

    @property
    def etc(self) -> Path:
        return self.root / "etc"

    @property
    def log(self) -> Path:
        return self.root / "log"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def lib(self) -> Path:
        return self.root / "lib"

    @property
    def fernet_keys(self) -> Path:
        return self.etc / "fernet-keys"

    @property
    def credentials(self) -> Path:
        return self.etc / "credentials"

    @property
    def clouds_yaml(self) -> Path:
        return self.etc / "clouds.yaml"

    @property
    def metadata_secret(self) -> Path:
        """The secret networkd's metadata proxy signs instance ids with and
        computed's metadata service checks (Neutron's and Nova's
        metadata_proxy_shared_secret), made at first need."""
        return self.etc / "metadata-proxy-secret"

    @property
    def service_tokens(self) -> Path:
        """Where the services keep their own tokens between starts
        (shared.clients.session: a login costs identity a bcrypt check)."""
        return self.run / "tokens"

    @property
    def ceph(self) -> Path:
        """The stack's own Ceph as its clients see it (when the stack runs
        one): ceph.conf and one keyring per client (0600), in the form
        /etc/ceph has on a Ceph host, so librados finds a client's keyring
        by its name."""
        return self.etc / "ceph"

    def config_file(self, name: str) -> Path:
        return self.etc / name

    def pid_file(self, service: str) -> Path:
        return self.run / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log / f"{service}.log"

    def create(self) -> StateLayout:
        for directory in (self.root, self.etc, self.log, self.run, self.lib):
            directory.mkdir(parents=True, exist_ok=True)
        os.chmod(self.etc, 0o700)
        return self
