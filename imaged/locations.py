"""POST /v2/images/{id}/locations (Image API 2.17): give a queued image
its data by naming where the data already is, top to bottom.

This is how Nova (snapshots) and Cinder (upload to image) register data
they wrote themselves; it replaces the old PATCH add /locations, which let
any owner point an active image somewhere else (OSSN-0090, OSSN-0065).
Here a location can only be added once, to a queued image:

    1. check     the image is queued (409 otherwise, naming the status);
                 validation_data, if any, is well formed; a store handles
                 the URL and says how big the data is (400 otherwise)
    2a. with validation_data {"os_hash_algo", "os_hash_value"}:
                 queued -> importing (compare-and-set: nothing else can
                 start meanwhile), the data is read once from the store and
                 hashed; it matches: importing -> active with size,
                 checksum, os_hash_* and the location; it does not:
                 importing -> queued, nothing kept, 400
    2b. without: queued -> active at once (size and location), then a
                 thread reads the data and records checksum and the sha512
                 os_hash_value (Glance's do_secure_hash); if that read
                 fails the image stays active without hashes (logged)

Why the check is synchronous when validation_data is given (Glance checks
it in a background task): the caller asked for its data to be verified,
so it learns the verdict in the answer, and the image is never active
with data that does not match. With do_secure_hash = false nothing is read:
validation_data, if given, is recorded as it is.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

from imaged.db.repository import Notice, StaleImage
from imaged.domain import status as st
from imaged.domain.errors import Conflict, IllegalTransition, InvalidInput
from imaged.domain.image import Image, Location
from imaged.runtime import Imaged
from imaged.store.base import LocationRefused, Store, StoreError
from imaged.upload import HASH_ALGORITHM
from shared.context import RequestContext
from shared.request_ids import carried
from shared.units import MiB

LOG = logging.getLogger(__name__)
# The algorithms python-glanceclient lets a user name (`glance add-location`).
HASH_ALGORITHMS = ("sha512", "sha256", "sha1", "md5")
HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Validation:
    algorithm: str
    value: str


@dataclass(frozen=True)
class Digest:
    size: int
    md5: str
    secure: str          # in the algorithm asked for


def parse_request(body: Any) -> tuple[str, Validation | None]:
    """The URL and the validation data of a POST /locations body, or 400."""
    if not isinstance(body, dict) or not isinstance(body.get("url"), str) or not body["url"]:
        raise InvalidInput("The body must be an object with the location's 'url' (and "
                           "optionally 'validation_data').")
    unknown = set(body) - {"url", "validation_data"}
    if unknown:
        raise InvalidInput(f"Unknown field(s) in the request: {', '.join(sorted(unknown))}.")
    raw = body.get("validation_data") or {}
    if not isinstance(raw, dict):
        raise InvalidInput("validation_data must be an object.")
    if not raw:
        return body["url"], None
    if set(raw) != {"os_hash_algo", "os_hash_value"}:
        raise InvalidInput("validation_data must hold exactly os_hash_algo and "
                           "os_hash_value.")
    algorithm, value = raw["os_hash_algo"], raw["os_hash_value"]
    if algorithm not in HASH_ALGORITHMS:
        raise InvalidInput(f"os_hash_algo {algorithm!r} is not supported (use one of "
                           f"{', '.join(HASH_ALGORITHMS)}).")
    digits = hashlib.new(algorithm).digest_size * 2
    if not isinstance(value, str) or len(value) != digits or not HEX.match(value.lower()):
        raise InvalidInput(f"os_hash_value must be a {algorithm} digest: {digits} "
                           f"hexadecimal digits.")
    return body["url"], Validation(algorithm, value.lower())


def add_location(imaged: Imaged, context: RequestContext, image: Image, url: str,
                 validation: Validation | None) -> None:
    # 1. check
    if image.status != st.QUEUED:
        raise IllegalTransition(f"Image {image.id} is {image.status}: a location can only "
                                f"be added to a queued image.")
    try:
        store = imaged.stores.for_url(url)
        size = store.size_of(url)
    except (LocationRefused, StoreError) as exc:
        raise InvalidInput(f"Invalid location: {exc}") from None
    location = Location(url, {"store": store.store_id})
    secure_hash = imaged.conf.image.do_secure_hash

    # 2a. verify, then activate
    if validation is not None and secure_hash:
        _claim(imaged, image)
        try:
            digest = read_digest(store, url, validation.algorithm)
        except StoreError as exc:
            _release(imaged, image)
            raise InvalidInput(f"Could not read the data at {url}: {exc} The image is "
                               f"queued again.") from None
        except BaseException:
            _release(imaged, image)
            raise
        if digest.secure != validation.value:
            _release(imaged, image)
            raise InvalidInput(f"os_hash_value {validation.value} does not match the data "
                               f"at {url} ({validation.algorithm}: {digest.secure}); the "
                               f"location was not added and the image is queued again.")
        _activate(imaged, context, image, [st.IMPORTING], location, digest.size,
                  {"checksum": digest.md5, "os_hash_algo": validation.algorithm,
                   "os_hash_value": digest.secure})
        return

    # 2b. activate, then hash in the background (or record what was given)
    given = {"os_hash_algo": validation.algorithm, "os_hash_value": validation.value} \
        if validation is not None else {}
    active = _activate(imaged, context, image, [st.QUEUED], location, size, given)
    if secure_hash:
        threading.Thread(target=carried(_hash_in_background), args=(imaged, context, active, store),
                         name=f"hash-{image.id}", daemon=True).start()


def read_digest(store: Store, url: str, algorithm: str) -> Digest:
    """Read the data at url once: its size, md5 and the named hash."""
    md5, secure, size = hashlib.md5(), hashlib.new(algorithm), 0
    data = store.open(url)
    try:
        file = data.file
        chunks = iter(lambda: file.read(MiB), b"") if file is not None \
            else (data.chunks or iter(()))
        for chunk in chunks:
            md5.update(chunk)
            secure.update(chunk)
            size += len(chunk)
    finally:
        data.close()
    return Digest(size, md5.hexdigest(), secure.hexdigest())


def _claim(imaged: Imaged, image: Image) -> None:
    """queued -> importing while the data is read: no upload, import or
    other location can start on the image meanwhile."""
    try:
        imaged.repo.set_status(image.id, [st.QUEUED], st.IMPORTING)
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} is {stale.actual_status or 'deleted'}: "
                                f"a location can only be added to a queued image.") from None


def _release(imaged: Imaged, image: Image) -> None:
    with contextlib.suppress(StaleImage):  # deleted meanwhile: nothing to give back
        imaged.repo.set_status(image.id, [st.IMPORTING], st.QUEUED)


def _activate(imaged: Imaged, context: RequestContext, image: Image, expected: list[str],
              location: Location, size: int, hashes: dict) -> Image:
    values = {"size": size, "virtual_size": size if image.disk_format in ("raw", "iso")
              else None, **hashes}
    after = replace(image.copy(), status=st.ACTIVE, **values, locations=[location])
    details = {"changed": ["locations"], "size": size}
    try:
        return imaged.repo.set_status(image.id, expected, st.ACTIVE,
                                      {**values, "locations": [location]}, notices=[
                                          _notice("image.update", after, context, **details),
                                          _notice("image.activate", after, context)])
    except StaleImage as stale:
        raise Conflict(f"Image {image.id} became {stale.actual_status or 'deleted'} while "
                       f"its location was added; the location was not kept.") from None


def _hash_in_background(imaged: Imaged, context: RequestContext, image: Image,
                        store: Store) -> None:
    """Glance's do_secure_hash: checksum and os_hash_value of data added by
    location, computed after the image is already active."""
    url = image.locations[0].url
    try:
        digest = read_digest(store, url, HASH_ALGORITHM)
    except Exception as exc:  # noqa: BLE001 - the image stays usable without hashes
        LOG.warning("could not hash the data of image %s at %s: %s", image.id, url, exc)
        return
    current = imaged.repo.get(image.id)
    if current is None or current.status != st.ACTIVE or current.os_hash_value \
            or [loc.url for loc in current.locations][:1] != [url]:
        return  # changed meanwhile: these hashes may no longer describe it
    hashes: dict[str, Any] = {"checksum": digest.md5, "os_hash_algo": HASH_ALGORITHM,
              "os_hash_value": digest.secure}
    with contextlib.suppress(StaleImage):
        imaged.repo.set_status(image.id, [st.ACTIVE], st.ACTIVE, hashes, notices=[
            _notice("image.update", replace(current, **hashes), context,
                    changed=["checksum", "os_hash_algo", "os_hash_value"])])


def _notice(event_type: str, image: Image, context: RequestContext, **extra) -> Notice:
    return Notice(event_type, image.id, {**image.summary(), **extra}, context=context,
                  project_id=image.owner)
