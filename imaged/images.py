"""The image API layer: what each call on /v2/images does, below HTTP.

The REST layer (imaged/api/) parses a request and renders the answer; in
between it calls one function here, which finds the image as the caller may
see it, asks policy where Glance does, applies the rules of imaged.domain,
saves through the repository and tidies up data nothing points at any more.
Tests call these functions directly, with a RequestContext and no server.

A save that finds the image's status moved meanwhile (an upload ended) reads
the image again and retries, a few times, before answering 409.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from imaged.cache import image_cache_of
from imaged.db.repository import DuplicateImage, DuplicateMember, Notice, StaleImage
from imaged.domain import quotas, rules
from imaged.domain import status as st
from imaged.domain.errors import (
    Conflict,
    IllegalTransition,
    ImageNotFound,
    InvalidInput,
    MemberNotFound,
    NotAllowed,
    QuotaExceeded,
)
from imaged.domain.image import Image, Location, Member, utcnow
from imaged.domain.listing import ImageQuery, parse_query
from imaged.domain.patch import Change
from imaged.imports.flow import importer_of
from imaged.runtime import Imaged, caller_of
from imaged.store.base import InUseByStore, LocationRefused, StoreError, UnknownStore
from shared.context import RequestContext
from shared.errors import Forbidden, NotFound

LOG = logging.getLogger(__name__)
SAVE_ATTEMPTS = 3
ACTIONS = ("deactivate", "reactivate")


def notice(event_type: str, image: Image, ctx: RequestContext, **extra) -> Notice:
    """The event an image change records (Glance's notification payload)."""
    return Notice(event_type, image.id, {**image.summary(), **extra}, context=ctx,
                  project_id=image.owner)


def visible_image(imaged: Imaged, ctx: RequestContext, image_id: str) -> Image:
    """The image, or 404 when it does not exist or the caller may not see it
    (the same answer for both, so no project learns about another's images)."""
    image = imaged.repo.get(image_id) if len(image_id) <= 36 else None
    if image is None:
        raise ImageNotFound(image_id)
    caller = caller_of(ctx)
    membership = None
    if image.visibility == "shared" and image.owner != caller.project_id and not caller.is_admin:
        membership = imaged.repo.get_member(image.id, caller.project_id or "")
    if not rules.can_see(image, caller, membership):
        raise ImageNotFound(image_id)
    return image


# -- images ---------------------------------------------------------------------------------

def create_image(imaged: Imaged, ctx: RequestContext, body: dict) -> Image:
    """A new queued image from the body of POST /v2/images."""
    image = rules.new_image(body, caller_of(ctx), imaged.formats, imaged.limits)
    imaged.authorize("add_image", ctx, image)
    check_protected_properties(imaged, ctx, {}, image.properties)
    _authorize_visibility(imaged, ctx, image, image.visibility)
    if imaged.quotas.image_count_total:  # counting costs a query: only with a quota
        owner = image.owner or ""
        quotas.check_image_count(imaged.quotas, owner, imaged.repo.usage(owner).images)
    try:
        imaged.repo.create(image, [notice("image.create", image, ctx)])
    except DuplicateImage:
        raise Conflict(f"An image with identifier {image.id} already exists.") from None
    return image


@dataclass
class Page:
    images: list[Image]
    limit: int


def list_images(imaged: Imaged, ctx: RequestContext,
                params: list[tuple[str, str]]) -> Page:
    """One page of the images the caller may see, filtered and sorted as the
    query parameters of GET /v2/images say."""
    imaged.authorize("get_images", ctx)
    conf = imaged.conf
    query: ImageQuery = parse_query(params, caller_of(ctx),
                                   default_limit=conf.image.limit_param_default,
                                   max_limit=conf.image.api_limit_max)
    marker = None
    if query.marker:
        try:
            marker = visible_image(imaged, ctx, query.marker)
        except ImageNotFound:
            raise InvalidInput(f"Invalid marker. Image {query.marker} could not be "
                               f"found.") from None
    return Page(imaged.repo.list_images(query, marker), query.limit)


def show_image(imaged: Imaged, ctx: RequestContext, image_id: str) -> Image:
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("get_image", ctx, image)
    return image


def update_image(imaged: Imaged, ctx: RequestContext, image_id: str,
                 changes: list[Change]) -> Image:
    """Apply a JSON patch (PATCH /v2/images/{id}); returns the saved image."""
    conf = imaged.conf
    for _attempt in range(SAVE_ATTEMPTS):
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("modify_image", ctx, image)
        result = rules.apply_changes(image, changes, caller_of(ctx), imaged.formats,
                                     imaged.limits,
                                     locations_enabled=conf.image.show_multiple_locations,
                                     check_location=_location_checker(imaged))
        updated = result.image
        check_protected_properties(imaged, ctx, image.properties, updated.properties)
        if updated.visibility != image.visibility:
            _authorize_visibility(imaged, ctx, updated, updated.visibility)
        if result.added_locations:
            imaged.authorize("set_image_location", ctx, image)
        if result.removed_locations:
            imaged.authorize("delete_image_location", ctx, image)
        notices = [notice("image.update", updated, ctx, changed=result.changed)]
        if image.status != updated.status and updated.status == st.ACTIVE:
            notices.append(notice("image.activate", updated, ctx))
        try:
            # The saved image, as stored: its updated_at is the repository's
            # (imaged-registry sets it on its own copy in registry mode).
            saved = imaged.repo.save(updated, expected_status=image.status, notices=notices)
        except StaleImage:
            continue  # the status moved meanwhile (an upload ended): look again
        _delete_data(imaged, result.removed_locations)
        return saved
    raise Conflict(f"Image {image_id} kept changing status; try the update again.")


def delete_image(imaged: Imaged, ctx: RequestContext, image_id: str) -> None:
    """Delete the image: its data at once, or by the scrubber later when
    delayed_delete is on; its staged data and its cached copy at once.
    As in Glance, the data goes before the record: a store that refuses
    because the data is in use (an RBD snapshot with clones) stops the
    delete with 409, and the image stays as it was."""
    conf = imaged.conf
    for _attempt in range(SAVE_ATTEMPTS):
        image = visible_image(imaged, ctx, image_id)
        imaged.authorize("delete_image", ctx, image)
        if image.protected:
            raise NotAllowed(f"Image {image.id} is protected and cannot be deleted "
                             f"(set protected to false first).")
        target = st.after_delete(image.status, has_data=bool(image.locations),
                                 delayed_delete=conf.image.delayed_delete)
        if target == st.DELETED:
            _delete_data_unless_in_use(imaged, image)
        try:
            imaged.repo.set_status(image.id, [image.status], target,
                                   {"deleted_at": utcnow()},
                                   notices=[notice("image.delete", image, ctx,
                                                   new_status=target)])
        except StaleImage:
            continue
        _forget_copies(imaged, image.id)
        return
    raise Conflict(f"Image {image_id} kept changing status; try the delete again.")


def image_action(imaged: Imaged, ctx: RequestContext, image_id: str, action: str) -> None:
    """deactivate or reactivate (POST /v2/images/{id}/actions/{action})."""
    if action not in ACTIONS:
        raise NotFound(f"Unknown image action {action!r}: the actions are deactivate "
                       f"and reactivate.")
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize(action, ctx, image)
    target = st.after_deactivate(image.status) if action == "deactivate" \
        else st.after_reactivate(image.status)
    if target != image.status:
        try:
            imaged.repo.set_status(image.id, [image.status], target,
                                   notices=[notice(f"image.{action}", image, ctx)])
        except StaleImage as stale:
            raise Conflict(f"Cannot {action} the image: its status changed to "
                           f"{stale.actual_status}.") from None


def check_protected_properties(imaged: Imaged, ctx: RequestContext, before: dict,
                               after: dict) -> None:
    """403 unless the caller's roles may make each change of extra
    properties: create a new key, update a changed one, delete a removed one
    (property protections; a property one may not read cannot be changed)."""
    roles = ctx.roles
    for key in after.keys() | before.keys():
        if key not in before:
            operations: tuple[str, ...] = ("create",)
        elif key not in after:
            operations = ("read", "delete")
        elif after[key] != before[key]:
            operations = ("read", "update")
        else:
            continue
        for operation in operations:
            if not imaged.protections.allows(operation, key, roles):
                raise Forbidden(f"Property '{key}' is protected: your roles may not "
                                f"{operation} it.")


# -- tags -----------------------------------------------------------------------------------

def add_tag(imaged: Imaged, ctx: RequestContext, image_id: str, tag: str) -> None:
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("modify_image", ctx, image)
    rules.check_tag(tag)
    if tag in image.tags:
        return
    limit = imaged.limits.tags
    if 0 <= limit < len(image.tags) + 1:
        raise QuotaExceeded(f"An image may have at most {limit} tags (image_tag_quota).")
    image.tags.append(tag)
    imaged.repo.add_tag(image.id, tag, [notice("image.update", image, ctx, changed=["tags"])])


def delete_tag(imaged: Imaged, ctx: RequestContext, image_id: str, tag: str) -> None:
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("modify_image", ctx, image)
    image.tags = [existing for existing in image.tags if existing != tag]
    if not imaged.repo.delete_tag(image.id, tag, [notice("image.update", image, ctx,
                                                         changed=["tags"])]):
        raise NotFound(f"Image {image_id} has no tag {tag}.")


# -- members --------------------------------------------------------------------------------

def _member_notice(event_type: str, member: Member, ctx: RequestContext,
                   owner: str | None) -> Notice:
    return Notice(event_type, member.image_id,
                  {"image_id": member.image_id, "member_id": member.member_id,
                   "status": member.status}, context=ctx, project_id=owner)


def add_member(imaged: Imaged, ctx: RequestContext, image_id: str, member_id: object) -> Member:
    """Share the image with a project (its membership starts pending)."""
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("add_member", ctx, image)
    rules.check_can_share(image)
    if not isinstance(member_id, str) or not member_id.strip():
        raise InvalidInput("The body must name the project to share with: "
                           '{"member": "<project id>"}.')
    rules.check_member_limit(len(imaged.repo.list_members(image.id)), imaged.limits)
    member = Member(image.id, member_id.strip())
    try:
        imaged.repo.add_member(member, [_member_notice("image.member.create", member, ctx,
                                                       image.owner)])
    except DuplicateMember:
        raise Conflict(f"Member {member.member_id} already exists for image "
                       f"{image.id}.") from None
    return member


def list_members(imaged: Imaged, ctx: RequestContext, image_id: str) -> list[Member]:
    """All members for the owner; a member sees its own membership only."""
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("get_members", ctx, image)
    rules.check_can_share(image)
    members = imaged.repo.list_members(image.id)
    if not rules.is_owner(image, caller_of(ctx)):
        members = [m for m in members if m.member_id == ctx.project_id]
    return members


def show_member(imaged: Imaged, ctx: RequestContext, image_id: str, member_id: str) -> Member:
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("get_member", ctx, image, member_id=member_id)
    return _member(imaged, ctx, image, member_id)


def update_member(imaged: Imaged, ctx: RequestContext, image_id: str, member_id: str,
                  status: object) -> Member:
    """The member project accepts or rejects the image (or sets it pending)."""
    image = visible_image(imaged, ctx, image_id)
    member = _member(imaged, ctx, image, member_id)
    imaged.authorize("modify_member", ctx, image, member_id=member_id)
    member.status = rules.check_member_status(status)
    return imaged.repo.update_member(member, [_member_notice("image.member.update", member,
                                                             ctx, image.owner)])


def delete_member(imaged: Imaged, ctx: RequestContext, image_id: str, member_id: str) -> None:
    image = visible_image(imaged, ctx, image_id)
    member = _member(imaged, ctx, image, member_id)
    imaged.authorize("delete_member", ctx, image, member_id=member_id)
    imaged.repo.delete_member(image.id, member_id, [
        _member_notice("image.member.delete", member, ctx, image.owner)])


def _member(imaged: Imaged, ctx: RequestContext, image: Image, member_id: str) -> Member:
    member = imaged.repo.get_member(image.id, member_id)
    if member is None or not (rules.is_owner(image, caller_of(ctx))
                              or member_id == ctx.project_id):
        raise MemberNotFound(image.id, member_id)
    return member


# -- one store's copy -----------------------------------------------------------------------

def delete_from_store(imaged: Imaged, ctx: RequestContext, store_id: str,
                      image_id: str) -> None:
    """Remove an active image's data from one store, keeping its other copies
    (DELETE /v2/stores/{store_id}/{image_id}; refusals in api/stores.py)."""
    try:
        store = imaged.stores.by_id(store_id)
    except UnknownStore as exc:
        raise NotFound(str(exc)) from None
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("get_image_location", ctx, image)
    imaged.authorize("delete_image_location", ctx, image)
    if image.status != st.ACTIVE:
        raise IllegalTransition(f"Image {image.id} is {image.status}: data can only be "
                                f"removed from a store of an active image.")
    here = [loc for loc in image.locations
            if imaged.stores.store_id_of(loc) == store.store_id]
    if not here:
        raise NotFound(f"Image {image.id} is not stored in store {store.store_id}.")
    kept = [loc for loc in image.locations if loc not in here]
    if not kept:
        raise IllegalTransition(f"Store {store.store_id} holds the only copy of image "
                                f"{image.id}'s data: delete the image instead.")
    changed = replace(image, locations=kept, properties=dict(image.properties),
                      tags=list(image.tags))
    try:
        imaged.repo.save(changed, expected_status=st.ACTIVE, notices=[
            notice("image.update", changed, ctx, changed=["locations"],
                   removed_from_store=store.store_id)])
    except StaleImage as stale:
        raise IllegalTransition(f"Image {image.id} became {stale.actual_status} "
                                f"meanwhile; nothing was removed.") from None
    for location in here:
        try:
            store.delete(location.url)
        except Exception:  # noqa: BLE001 - the record no longer points at it
            LOG.exception("could not delete image data at %s", location.url)


# -- helpers --------------------------------------------------------------------------------

def _authorize_visibility(imaged: Imaged, ctx: RequestContext, image: Image,
                          visibility: str) -> None:
    if visibility == "public":
        imaged.authorize("publicize_image", ctx, image)
    elif visibility == "community":
        imaged.authorize("communitize_image", ctx, image)


def _location_checker(imaged: Imaged):
    """Ask the store behind a URL whether it will serve it, and how big it is."""
    def check(raw) -> rules.CheckedLocation:
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise InvalidInput("A location is an object with a 'url' string and a 'metadata' "
                               "object.")
        metadata = raw.get("metadata", {})
        if not isinstance(metadata, dict):
            raise InvalidInput("A location's metadata must be an object.")
        validation = raw.get("validation_data") or {}
        if not isinstance(validation, dict) or set(validation) - {"checksum", "os_hash_algo",
                                                                  "os_hash_value"}:
            raise InvalidInput("validation_data may hold checksum, os_hash_algo and "
                               "os_hash_value only.")
        try:
            store = imaged.stores.for_url(raw["url"])
            size = store.size_of(raw["url"])
        except (LocationRefused, StoreError) as exc:
            raise InvalidInput(f"Invalid location: {exc}") from None
        if imaged.stores.multi:  # the store that serves it, recorded as Glance does
            metadata = {**metadata, "store": store.store_id}
        return rules.CheckedLocation(Location(raw["url"], dict(metadata)), size, validation)
    return check


def _forget_copies(imaged: Imaged, image_id: str) -> None:
    """A deleted image's other copies go at once: data staged for an import
    that will never run, and its image cache copy (delayed delete keeps only
    the store's data, for the scrubber)."""
    importer_of(imaged).staging.remove(image_id)
    cache = image_cache_of(imaged)
    if cache is not None:
        cache.entries.remove(image_id)
        cache.entries.index.dequeue(image_id)


def _delete_data_unless_in_use(imaged: Imaged, image: Image) -> None:
    """Remove the data of an image about to be deleted. A store that says
    the data is in use (InUseByStore) stops the delete: Conflict (409),
    Glance's "could not be deleted because it is in use", with the store's
    reason. Other failures are logged, never fatal."""
    for location in image.locations:
        try:
            imaged.stores.for_location(location).delete(location.url)
        except InUseByStore as exc:
            LOG.warning("image %s not deleted: its data is in use (%s)", image.id, exc)
            raise Conflict(f"Image {image.id} could not be deleted because it is in use: "
                           f"{exc}") from None
        except Exception:  # noqa: BLE001 - leftover data harms no one
            LOG.exception("could not delete image data at %s", location.url)


def _delete_data(imaged: Imaged, locations: list[Location]) -> None:
    """Remove data no image points at any more (logged, never fatal: the
    record is already changed, and leftover data harms no one)."""
    for location in locations:
        try:
            imaged.stores.for_location(location).delete(location.url)
        except Exception:  # noqa: BLE001
            LOG.exception("could not delete image data at %s", location.url)
