"""The volumed process: `python -m volumed.app --state-dir DIR`.

Before it serves anything, the main process makes the world consistent
again (reconcile.py): it starts the tgtd volumed owns if needed, clears what
unfinished operations left, gives every volume a true status and restores
every export. It keeps a thread that re-checks the exports every few seconds
(a restarted tgtd has forgotten them all), then serves the API with gunicorn
worker processes.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from flask import Flask, request

from shared.api import create_app
from shared.clients import IdentityClient, RemoteError, ServiceSession
from shared.clients.object_store import CATALOG_TYPES
from shared.db import session_factory, transaction
from shared.events import Notifier, create_tables
from shared.events_api import EVENT_RULES, EventSource, install_events
from shared.paths import StateLayout
from shared.service import ServiceDefinition, build_service, database_url, remote_validator
from volumed import repo
from volumed.api import (
    actions,
    attachments,
    backups,
    microversion,
    misc,
    quotas,
    snapshots,
    types,
    versions,
    volumes,
)
from volumed.api.common import Runtime
from volumed.api.versions import PUBLIC_PATHS
from volumed.backend.base import VolumeBackend
from volumed.backend.file import FileBackend
from volumed.backend.rbd import RbdBackend
from volumed.backend.router import BackendRouter
from volumed.backup.base import BackupStore
from volumed.backup.chunked import ChunkedBackup, ChunkSettings
from volumed.backup.posix import PosixStore
from volumed.backup.service import BackupService
from volumed.backup.swift import SwiftStore
from volumed.compute import ComputeEvents
from volumed.config import schema
from volumed.flows import Deps, Settings
from volumed.host import ensure_tgtd
from volumed.images import VolumeImages
from volumed.models import Base
from volumed.policies import RULES
from volumed.reconcile import Reconciler
from volumed.target.tgt import TgtTarget
from volumed.target.tgtd_ipc import TgtdClient

LOG = logging.getLogger(__name__)
NAME = "volumed"


def volumes_dir(conf, state: StateLayout) -> Path:
    return Path(conf.volume.volumes_dir) if conf.volume.volumes_dir else state.lib / "volumes"


def make_backend(conf, state: StateLayout, sessions) -> VolumeBackend:
    """The file backend, and beside it the rbd one (volumes as RBD images in
    Ceph) for the volume types whose extra spec volume_backend_name names it
    ([rbd] volume_backend_name); it connects to Ceph at its first volume."""
    options = conf.rbd
    rbd = RbdBackend(Path(options.rbd_ceph_conf) if options.rbd_ceph_conf
                     else state.ceph / "ceph.conf", options.rbd_user, options.rbd_pool,
                     options.rbd_secret_uuid, state.lib / "rbd-scratch")
    return BackendRouter({"file": FileBackend(volumes_dir(conf, state)),
                          options.volume_backend_name: rbd}, "file", sessions)


def make_backups(conf, state: StateLayout) -> BackupService:
    """The backup repository of volumed.conf [backup] backup_driver (posix:
    files under backup_posix_path; swift: objects in Swift, in volumed's own
    account) and Cinder's chunked format over it."""
    options = conf.backup
    store: BackupStore
    default_container = ""
    if options.backup_driver == "swift":
        # Cinder's swift driver has its own default container option.
        store = SwiftStore(ServiceSession.from_config(conf, state.service_tokens),
                           state.lib / "backup-swift",
                           options.backup_swift_container)
    else:
        store = PosixStore(Path(options.backup_posix_path) if options.backup_posix_path
                           else state.lib / "backup")
        default_container = options.backup_container
    chunks = ChunkSettings(chunk_size=options.backup_file_size,
                           sha_block_size=options.backup_sha_block_size_bytes,
                           compression=options.backup_compression_algorithm)
    return BackupService(store=store, format=ChunkedBackup(store, chunks),
                         default_container=default_container,
                         progress_interval=options.backup_timer_interval
                         if options.backup_enable_progress_timer else None)


def check_backup_store(conf) -> None:
    """With backup_driver = swift, Swift must be in the catalog: without it
    volumed stops at start with the reason (a stack whose pocketstack.conf
    does not enable Swift). Identity not answering yet is only a warning:
    the store looks Swift up again at the first backup."""
    if conf.backup.backup_driver != "swift":
        return
    try:
        IdentityClient(ServiceSession.from_config(conf)).endpoint(CATALOG_TYPES)
    except RemoteError as exc:
        if not exc.reached:
            LOG.warning("cannot check that Swift is in the catalog yet: %s", exc)
            return
        print(f"error: volumed.conf [backup] backup_driver is swift, but identity's "
              f"catalog has no object-store endpoint ({exc.message}); enable Swift "
              f"(pocketstack.conf [swift] enabled = true) or use backup_driver = posix",
              file=sys.stderr)
        raise SystemExit(2) from None


def make_target(conf, state: StateLayout) -> TgtTarget:
    return TgtTarget(TgtdClient(conf.volume.target_control_port),
                     state.run / "volumed-target.lock")


def make_deps(conf, state: StateLayout, sessions, notifier: Notifier) -> Deps:
    settings = Settings(
        iqn_prefix=conf.volume.target_prefix,
        portal=f"{conf.volume.target_ip_address}:{conf.volume.target_port}",
        default_type=conf.volume.default_volume_type,
        quota_defaults={"volumes": conf.quota.volumes, "gigabytes": conf.quota.gigabytes,
                        "snapshots": conf.quota.snapshots, "backups": conf.quota.backups,
                        "backup_gigabytes": conf.quota.backup_gigabytes},
        per_volume_gigabytes=conf.quota.per_volume_gigabytes)
    session = ServiceSession.from_config(conf, state.service_tokens)
    images = VolumeImages(session, conf.volume.image_url,
                          conf.volume.image_download_timeout)
    return Deps(sessions=sessions, notifier=notifier,
                backend=make_backend(conf, state, sessions),
                target=make_target(conf, state), images=images, settings=settings,
                backups=make_backups(conf, state),
                compute=ComputeEvents(session))


def prepare_database(engine, conf) -> None:
    Base.metadata.create_all(engine)
    create_tables(engine)
    with transaction(session_factory(engine)) as session:
        repo.ensure_type(session, conf.volume.default_volume_type,
                         "Default Volume Type")


def make_app(conf, state: StateLayout) -> Flask:
    service = build_service(NAME, conf, state, RULES + EVENT_RULES)
    prepare_database(service.extras["engine"], conf)
    deps = make_deps(conf, state, service.sessions, service.notifier)
    validator = remote_validator(service)
    app = create_app(NAME, error_style="nova", validator=validator,
                     is_public=lambda method, path: method == "GET" and path in PUBLIC_PATHS)

    @app.before_request
    def _microversion():
        if request.path.startswith("/v3/") and request.path not in PUBLIC_PATHS:
            microversion.VOLUME.start_request()

    app.after_request(microversion.VOLUME.add_headers)

    Runtime(deps=deps, policy=service.policy).install(app)
    for module in (versions, volumes, actions, attachments, snapshots, backups, types, quotas,
                   misc):
        app.register_blueprint(module.bp)
    install_events(app, EventSource(service.sessions, service.policy))
    return app


def make_private(state: StateLayout) -> None:
    """The database holds CHAP secrets and the volume files hold user data:
    everything volumed creates is readable by root only."""
    os.umask(0o077)
    state.lib.mkdir(parents=True, exist_ok=True)
    for path in state.lib.glob(f"{NAME}.sqlite*"):
        os.chmod(path, 0o600)


def start_reconciling(conf, state: StateLayout) -> threading.Event:
    """In the main process: reconcile once now, then watch the exports."""
    from shared.db import make_engine
    engine = make_engine(database_url(conf, state, NAME))
    # gunicorn forks the workers from this process: a worker must neither
    # use nor close the connections of this engine (SQLAlchemy's advice).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    prepare_database(engine, conf)
    sessions = session_factory(engine)
    deps = make_deps(conf, state, sessions, Notifier(NAME, sessions))
    reconciler = Reconciler(deps, ensure_daemon=(lambda: ensure_tgtd(conf, state))
                            if conf.volume.manage_tgtd else None)
    reconciler.startup()
    stop = threading.Event()
    threading.Thread(target=reconciler.watch, args=(conf.volume.export_check_interval, stop),
                     name="export-watcher", daemon=True).start()
    return stop


def prepare(conf, state: StateLayout) -> None:
    """Once, before the workers: the backup store's catalog entry, private
    state, volumed's tgtd, and the reconciler that re-exports volumes
    (restart safety)."""
    check_backup_store(conf)
    make_private(state)
    if conf.volume.manage_tgtd:
        ensure_tgtd(conf, state)
    start_reconciling(conf, state)


SERVICE = ServiceDefinition(
    name=NAME,
    description="PocketStack volumed (Cinder v3 subset)",
    schema=schema,
    make_app=make_app,
    prepare=prepare,
)


def main(argv: list[str] | None = None) -> None:
    SERVICE.main(argv)

if __name__ == "__main__":
    main()
