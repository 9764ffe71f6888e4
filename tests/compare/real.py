"""The real Keystone 30 and Glance 33, from PyPI, beside a PocketStack stack.

Each lives in a virtualenv of its own under `.venv-openstack/` (never the
project's), runs under uWSGI on a 127.0.0.1 port of its own, and keeps its
configuration, SQLite database, keys, image data and logs in one work
directory. Keystone uses SQLite and Fernet tokens; Glance uses SQLite, three
stores as PocketStack's comparison stack has them (file `fs` and `fs2`, http
`web`) and keystonemiddleware pointed at this Keystone.

The recipe is upstream's own deployment: `keystone-manage db_sync`,
`fernet_setup`, `credential_setup`, `bootstrap`; `glance-manage db_sync` and
`db_load_metadefs`; the WSGI applications `keystone.wsgi.api:application`
and `glance.wsgi.api:application` under uWSGI. Passwords are generated and
kept in 0600 files of the work directory.
"""
from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
VENVS = REPO / ".venv-openstack"
KEYSTONE_PACKAGES = ["keystone==30.0.0", "uwsgi==2.0.31"]
GLANCE_PACKAGES = ["glance==33.0.0", "uwsgi==2.0.31"]


@dataclass
class RealServices:
    """Where the real services live and listen."""

    work: Path
    keystone_port: int
    glance_port: int

    @property
    def keystone_url(self) -> str:
        return f"http://127.0.0.1:{self.keystone_port}"

    @property
    def glance_url(self) -> str:
        return f"http://127.0.0.1:{self.glance_port}"

    def secret(self, name: str) -> str:
        """A generated password, kept 0600 in the work directory."""
        path = self.work / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(18))
        return path.read_text().strip()


# --- installing ------------------------------------------------------------------------
def install() -> None:
    """Both virtualenvs, when missing (uWSGI builds from source: a few minutes)."""
    for name, packages, module in (("keystone", KEYSTONE_PACKAGES, "keystone"),
                                   ("glance", GLANCE_PACKAGES, "glance")):
        venv = VENVS / name
        marker = venv / ".installed"
        if marker.exists():
            continue
        print(f"installing {' '.join(packages)} into {venv.relative_to(REPO)}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *packages], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-c", f"import {module}"], check=True)
        marker.touch()


# --- configuring -------------------------------------------------------------------------
def _write(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _uwsgi_ini(real: RealServices, name: str, port: int, module: str, env: str) -> str:
    work = real.work
    return "\n".join([
        "[uwsgi]", "master = true", "processes = 1", "threads = 1", "enable-threads = true",
        "lazy-apps = true", "die-on-term = true", "exit-on-reload = true",
        "buffer-size = 65535", "add-header = Connection: close",
        "http-auto-chunked = true", "http-chunked-input = true", "http-raw-body = true",
        "socket-timeout = 30", f"http-socket = 127.0.0.1:{port}", f"module = {module}",
        f"virtualenv = {VENVS / name}", f"env = {env}", f"pidfile = {work / name}.pid",
        f"logto = {work / 'log' / name}-uwsgi.log", ""])


def configure_keystone(real: RealServices) -> Path:
    etc = real.work / "ks-etc"
    work = real.work
    _write(etc / "keystone.conf", "\n".join([
        "[DEFAULT]", f"log_file = {work / 'log' / 'keystone.log'}",
        "[database]", f"connection = sqlite:///{work / 'keystone.sqlite'}?timeout=30",
        "[token]", "provider = fernet", "expiration = 3600",
        "[fernet_tokens]", f"key_repository = {etc / 'fernet-keys'}",
        "[fernet_receipts]", f"key_repository = {etc / 'fernet-keys'}",
        "[credential]", f"key_repository = {etc / 'credential-keys'}", ""]))
    _write(etc / "keystone-uwsgi.ini", _uwsgi_ini(
        real, "keystone", real.keystone_port, "keystone.wsgi.api:application",
        f"OS_KEYSTONE_CONFIG_DIR={etc}"))
    return etc


def configure_glance(real: RealServices) -> Path:
    etc = real.work / "gl-etc"
    data = real.work / "gl-data"
    work = real.work
    for folder in ("images", "images2", "staging", "tasks", "cache", "lock"):
        (data / folder).mkdir(parents=True, exist_ok=True)
    paste = VENVS / "glance" / "etc" / "glance" / "glance-api-paste.ini"
    _write(etc / "glance-api-paste.ini", paste.read_text())
    _write(etc / "glance-api.conf", "\n".join([
        "[DEFAULT]", f"log_file = {work / 'log' / 'glance-api.log'}",
        "enabled_backends = fs:file, fs2:file, web:http",
        "show_multiple_locations = True", "show_image_direct_url = True",
        f"image_cache_dir = {data / 'cache'}", "cache_prefetcher_interval = 5",
        "enabled_import_methods = [glance-direct,web-download,copy-image]",
        f"worker_self_reference_url = {real.glance_url}",
        "[database]", f"connection = sqlite:///{work / 'glance.sqlite'}?timeout=30",
        "[glance_store]", "default_backend = fs",
        "[fs]", f"filesystem_store_datadir = {data / 'images'}/", "weight = 100",
        "[fs2]", f"filesystem_store_datadir = {data / 'images2'}/", "weight = 50",
        "[web]", "weight = 10",
        "[os_glance_staging_store]", f"filesystem_store_datadir = {data / 'staging'}/",
        "[os_glance_tasks_store]", f"filesystem_store_datadir = {data / 'tasks'}/",
        "[paste_deploy]", "flavor = keystone+cachemanagement",
        f"config_file = {etc / 'glance-api-paste.ini'}",
        "[keystone_authtoken]", f"www_authenticate_uri = {real.keystone_url}/v3",
        f"auth_url = {real.keystone_url}/v3", "auth_type = password",
        "project_domain_name = Default", "user_domain_name = Default",
        "project_name = service", "username = glance",
        f"password = {real.secret('glance')}", "service_token_roles_required = true",
        "[oslo_concurrency]", f"lock_path = {data / 'lock'}",
        "[import_filtering_opts]", "allowed_hosts = [127.0.0.1]",
        "allowed_ports = [80,443]", ""]))
    _write(etc / "glance-api-uwsgi.ini", _uwsgi_ini(
        real, "glance", real.glance_port, "glance.wsgi.api:application",
        f"OS_GLANCE_CONFIG_DIR={etc}"))
    return etc


# --- starting and stopping ---------------------------------------------------------------
def _run(real: RealServices, venv: str, *argv: str) -> None:
    log = real.work / "log" / "setup.log"
    with log.open("a") as out:
        subprocess.run([str(VENVS / venv / "bin" / argv[0]), *argv[1:]], check=True,
                       stdout=out, stderr=subprocess.STDOUT)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_uwsgi(real: RealServices, name: str, ini: Path, url: str, expect: int) -> None:
    port = int(url.rsplit(":", 1)[1])
    if not _port_is_free(port):
        raise RuntimeError(f"port {port} for the real {name} is taken")
    with (real.work / "log" / f"{name}-uwsgi.stdout").open("a") as out:
        subprocess.Popen([str(VENVS / name / "bin" / "uwsgi"), "--ini", str(ini)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == expect:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the real {name} did not answer on {url}; see {real.work / 'log'}")


def start_keystone(real: RealServices) -> None:
    etc = configure_keystone(real)
    (real.work / "log").mkdir(parents=True, exist_ok=True)
    conf = ["--config-file", str(etc / "keystone.conf")]
    if not (real.work / "keystone.sqlite").exists():
        user = getpass.getuser()
        _run(real, "keystone", "keystone-manage", *conf, "db_sync")
        for setup in ("fernet_setup", "credential_setup"):
            _run(real, "keystone", "keystone-manage", *conf, setup,
                 "--keystone-user", user, "--keystone-group", user)
        # The password goes in through the environment, not the command line.
        os.environ["OS_BOOTSTRAP_PASSWORD"] = real.secret("admin")
        try:
            _run(real, "keystone", "keystone-manage", *conf, "bootstrap",
                 "--bootstrap-admin-url", f"{real.keystone_url}/v3",
                 "--bootstrap-internal-url", f"{real.keystone_url}/v3",
                 "--bootstrap-public-url", f"{real.keystone_url}/v3",
                 "--bootstrap-region-id", "RegionOne")
        finally:
            del os.environ["OS_BOOTSTRAP_PASSWORD"]
    _start_uwsgi(real, "keystone", etc / "keystone-uwsgi.ini", real.keystone_url, 300)


def start_glance(real: RealServices) -> None:
    etc = configure_glance(real)
    conf = ["--config-file", str(etc / "glance-api.conf")]
    if not (real.work / "glance.sqlite").exists():
        _run(real, "glance", "glance-manage", *conf, "db_sync")
        _run(real, "glance", "glance-manage", *conf, "db_load_metadefs",
             str(VENVS / "glance" / "etc" / "glance" / "metadefs"))
        # WAL: the import threads write while requests read (without it SQLite
        # answers "database is locked" and Glance a 500).
        import sqlite3
        with sqlite3.connect(real.work / "glance.sqlite") as db:
            db.execute("pragma journal_mode=wal")
    _start_uwsgi(real, "glance", etc / "glance-api-uwsgi.ini", real.glance_url, 300)


def stop(real: RealServices) -> None:
    """SIGTERM each uWSGI master recorded in its pidfile (die-on-term: the
    workers follow), by its pid only."""
    for name in ("glance", "keystone"):
        pidfile = real.work / f"{name}.pid"
        if not pidfile.exists():
            continue
        pid = int(pidfile.read_text().strip() or 0)
        if pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        pidfile.unlink(missing_ok=True)
