"""imaged-scrubber: `python -m imaged.scrubber --state-dir DIR`.

With delayed_delete on, DELETE leaves an image in pending_delete: the API
no longer shows it, but its data stays in the store. Every wakeup_time
seconds this process looks for images that have been pending_delete for
longer than scrub_time, deletes their data from the stores and marks them
deleted. Until then an operator can still rescue the data by hand.

It reads imaged-api.conf (the database and the stores: the same ones the API
uses, by construction) and imaged-scrubber.conf (its timing). It has no
port; `pocketstack status` shows it up while its process is alive.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable

from imaged.config import api_schema, scrubber_schema
from imaged.db.migrate import upgrade
from imaged.db.repository import ImageRepository, Notice, StaleImage
from imaged.domain import status as st
from imaged.domain.image import Image, utcnow
from imaged.runtime import open_repository
from imaged.store import Stores
from shared import logs
from shared.db import make_engine, session_factory
from shared.events import Notifier, request_id_of
from shared.paths import StateLayout, resolve_state_dir
from shared.request_ids import RequestIds, acting_for, new_request_id
from shared.service import database_url, load_config_or_exit

LOG = logging.getLogger(__name__)


def scrub_once(repo: ImageRepository, stores: Stores, scrub_time: float, batch_size: int,
               deleted_by: Callable[[str], str | None] = lambda image_id: None) -> int:
    """One pass: remove the data of images pending_delete for longer than
    scrub_time. Returns how many images were scrubbed.

    The pass logs with a request id of its own; the lines (and the calls to
    a volume store) about one image also carry, as the global request id,
    the id of the DELETE that left it pending (`deleted_by`, from the events)."""
    pass_id = new_request_id()
    cutoff = utcnow() - dt.timedelta(seconds=scrub_time)
    scrubbed = 0
    for image in repo.pending_delete_before(cutoff, batch_size):
        with acting_for(RequestIds(pass_id, deleted_by(image.id))):
            scrubbed += _scrub(repo, stores, image)
    return scrubbed


def _scrub(repo: ImageRepository, stores: Stores, image: Image) -> int:
    """1 if the image's data is gone and the image is marked deleted, else 0."""
    try:
        for location in image.locations:  # every store holding a copy
            stores.for_location(location).delete(location.url)
    except Exception:  # noqa: BLE001 - try again at the next pass
        LOG.exception("could not delete the data of image %s; will retry", image.id)
        return 0
    try:
        repo.set_status(image.id, [st.PENDING_DELETE], st.DELETED, {"locations": []},
                        notices=[Notice("image.scrub", image.id,
                                        {"image_id": image.id, "name": image.name,
                                         "size": image.size}, project_id=image.owner)])
    except StaleImage:
        return 0
    LOG.info("scrubbed image %s (%s bytes)", image.id, image.size)
    return 1


def start(state: StateLayout) -> Callable[[threading.Event, bool], None]:
    """The scrubber's start (its config checked, its database migrated, its
    stores opened); returns its loop, which scrubs every wakeup_time
    seconds until its event is set (or once). A start that fails raises
    here: pocketstack's one-process mode runs this among the services'
    starts, then the loop in a thread beside the APIs."""
    api_conf = load_config_or_exit(api_schema(), state)
    conf = load_config_or_exit(scrubber_schema(), state)
    logs.configure(conf.logging.debug)
    engine = make_engine(database_url(api_conf, state, "imaged"))
    upgrade(engine)
    sessions = session_factory(engine)
    repo = open_repository(api_conf, sessions, Notifier("imaged-scrubber", sessions))
    stores = Stores.from_config(api_conf, state.lib)
    LOG.info("scrubber started: every %ss, data removed %ss after delete",
             conf.scrubber.wakeup_time, conf.scrubber.scrub_time)

    def loop(stop: threading.Event, once: bool = False) -> None:
        while not stop.is_set():
            try:
                scrub_once(repo, stores, conf.scrubber.scrub_time, conf.scrubber.batch_size,
                           lambda image_id: request_id_of(sessions, image_id, "image.delete"))
            except Exception:  # noqa: BLE001 - a database hiccup must not end the daemon
                LOG.exception("scrubber pass failed")
            if once:
                break
            stop.wait(conf.scrubber.wakeup_time)
        LOG.info("scrubber stopped")
    return loop


def run(state: StateLayout, stop: threading.Event, once: bool = False) -> None:
    """The scrubber as a process of its own: started, then looping until
    `stop` is set."""
    start(state)(stop, once)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="PocketStack imaged-scrubber")
    parser.add_argument("--state-dir", help="state directory (default: $POCKETSTACK_STATE_DIR "
                                            "or /var/lib/pocketstack)")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args(argv)
    state = StateLayout(resolve_state_dir(args.state_dir)).create()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run(state, stop, once=args.once)


if __name__ == "__main__":
    main()
