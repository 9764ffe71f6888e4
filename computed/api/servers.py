"""/v2.1/servers: create, list (with filters), show, rename, delete,
metadata. The actions are in actions.py, volumes in volume_attachments.py.

POST /servers checks what a user can get wrong at once (400: unknown
flavor or key pair, image missing, inactive or too big for the flavor,
volume missing or in use, an image property computed cannot honour;
403: over quota), records the server BUILD/scheduling, reserves its
volumes in volumed and hands the rest to flows/launch.py in the
background: 202.
"""
from __future__ import annotations

import base64
import uuid as uuidlib

from flask import Blueprint, Response, jsonify, request

from computed.api import render
from computed.api.common import API_PREFIX, links, paginate, project_scope, truthy
from computed.db import repository as repo
from computed.db.models import BlockDeviceMapping, Instance
from computed.domain import states
from computed.domain.claims import quota_excess
from computed.domain.devices import (InvalidBlockDeviceMapping, local_disks,
                                     next_free_device, parse_boot_request)
from computed.domain.image_properties import InvalidImageProperty, guest_hardware
from computed.domain.requests import (InvalidRequest, QuotaError, check_metadata, check_name,
                                      hostname_for, parse_server_request)
from computed.flows.launch import launch
from computed.flows.terminate import terminate
from computed.runtime import Computed
from shared.api import context, json_body
from shared.clients import RemoteError
from shared.db import transaction
from shared.errors import ApiError, BadRequest, Conflict, Forbidden, NotFound
from shared.events import parse_time

GIB = 1024 ** 3
FALSE_WORDS = ("0", "false", "no", "off", "f", "n")


def is_uuid(value: str) -> bool:
    try:
        return str(uuidlib.UUID(value)) == value.lower()
    except ValueError:
        return False


def servers_blueprint(computed: Computed) -> Blueprint:
    bp = Blueprint("servers", __name__, url_prefix=API_PREFIX)
    deps = computed.deps
    sessions = deps.sessions

    def load(session, server_id: str, rule: str, include_deleted: bool = False) -> Instance:
        """The server if the caller may see it (404 otherwise), then policy."""
        if not is_uuid(server_id):
            raise NotFound(f"Instance {server_id} could not be found.")
        instance = repo.get_instance(session, server_id, project_scope(), include_deleted)
        computed.authorize(rule, context(), project_id=instance.project_id)
        return instance

    # --- list -------------------------------------------------------------------------
    def _listing(detail: bool):
        ctx = context()
        computed.authorize("servers:detail" if detail else "servers:index", ctx)
        args = request.args
        project_id = ctx.project_id
        include_deleted = False
        if "all_tenants" in args and args["all_tenants"].strip().lower() not in FALSE_WORDS:
            computed.authorize("servers:index:get_all_tenants", ctx)
            project_id = args.get("project_id") or args.get("tenant_id") or None
        if ctx.is_admin:
            include_deleted = truthy(args.get("deleted", "False"))
        filters = {key: args[key] for key in ("name", "status", "image", "flavor",
                                              "reservation_id", "changes-since")
                   if args.get(key)}
        if ctx.is_admin and args.get("host"):
            filters["host"] = args["host"]
        if "changes-since" in filters:
            try:
                filters["changes-since"] = parse_time(filters["changes-since"])
            except ValueError:
                raise BadRequest("Invalid filter field: changes-since.") from None
        with transaction(sessions, write=False) as session:
            instances = repo.list_instances(session, project_id=project_id, filters=filters,
                                            include_deleted=include_deleted)
            page, next_links = paginate(instances, lambda i: i.uuid,
                                        "servers/detail" if detail else "servers")
            body = {"servers": [render.server_detail(i, ctx) if detail
                                else render.server_summary(i) for i in page]}
        if next_links:
            body["servers_links"] = next_links
        return jsonify(body)

    @bp.get("/servers")
    def list_servers():
        return _listing(detail=False)

    @bp.get("/servers/detail")
    def list_servers_detail():
        return _listing(detail=True)

    # --- show, update, delete ---------------------------------------------------------
    @bp.get("/servers/<server_id>")
    def show_server(server_id):
        with transaction(sessions, write=False) as session:
            instance = load(session, server_id, "servers:show")
            return jsonify({"server": render.server_detail(instance, context())})

    @bp.put("/servers/<server_id>")
    def update_server(server_id):
        server = json_body().get("server")
        if not isinstance(server, dict):
            raise BadRequest("Invalid input: the body must be {\"server\": {...}}.")
        unknown = set(server) - {"name"}
        if unknown:
            raise BadRequest(f"Invalid input: only the name can be changed here "
                             f"({', '.join(sorted(unknown))} cannot).")
        with transaction(sessions) as session:
            instance = load(session, server_id, "servers:update")
            if "name" in server:
                try:
                    instance.display_name = check_name(server["name"])
                except InvalidRequest as exc:
                    raise BadRequest(str(exc)) from None
                instance.updated_at = repo.now()
                deps.event(context(), "compute.instance.update", instance, session=session)
            return jsonify({"server": render.server_detail(instance, context())})

    @bp.delete("/servers/<server_id>")
    def delete_server(server_id):
        ctx = context()
        with transaction(sessions) as session:
            instance = load(session, server_id, "servers:delete")
            if instance.task_state == states.DELETING:
                return Response(status=204)
            instance.task_state = states.DELETING
            instance.updated_at = repo.now()
            deps.event(ctx, "compute.instance.delete.requested", instance, session=session)
        deps.background(deps.actions, f"terminate-{server_id}",
                        lambda: terminate(deps, ctx, server_id))
        return Response(status=204)

    # --- create -----------------------------------------------------------------------
    @bp.post("/servers")
    def create_server():
        ctx = context()
        computed.authorize("servers:create", ctx)
        body = json_body()
        try:
            wanted = parse_server_request(body, deps.settings.max_metadata_items)
            boot = parse_boot_request(wanted.image_ref,
                                      body["server"].get("block_device_mapping_v2"),
                                      body["server"].get("block_device_mapping"))
        except (InvalidRequest, InvalidBlockDeviceMapping) as exc:
            raise BadRequest(str(exc)) from None
        except QuotaError as exc:
            raise Forbidden(str(exc)) from None
        if boot.volumes and wanted.max_count > 1:
            raise BadRequest("Cannot attach one or more volumes to multiple instances")
        caller = deps.caller(ctx)

        with transaction(sessions, write=False) as session:
            try:
                flavor = repo.get_flavor(session, wanted.flavor_ref)
            except NotFound:
                raise BadRequest(f"Flavor {wanted.flavor_ref} could not be found.") from None
            if not repo.flavor_usable_by(flavor, ctx.project_id, ctx.is_admin):
                raise BadRequest(f"Flavor {wanted.flavor_ref} could not be found.")
            flavor_copy = render.flavor_snapshot(flavor)
            key_data = None
            if wanted.key_name:
                try:
                    key_data = repo.get_keypair(session, ctx.user_id,
                                                wanted.key_name).public_key
                except NotFound:
                    raise BadRequest("Invalid key_name provided.") from None

        image = _usable_image(caller, boot.image_id, flavor_copy)
        for request_ in boot.volumes:
            _check_volume(caller, request_.volume_id)

        uuids = [str(uuidlib.uuid4()) for _ in range(wanted.max_count)]
        reservation = "r-" + uuidlib.uuid4().hex[:8]
        with transaction(sessions) as session:
            count, used = repo.project_usage(session, ctx.project_id)
            wanted_resources = repo.instance_resources(_sizes(flavor_copy))
            excess = quota_excess(deps.settings.quota, count, used, wanted_resources,
                                  wanted.max_count)
            if excess:
                raise Forbidden(excess)
            now = repo.now()
            for index, uuid in enumerate(uuids):
                name = wanted.name if wanted.max_count == 1 else f"{wanted.name}-{index + 1}"
                instance = Instance(
                    uuid=uuid, display_name=name, hostname=hostname_for(name),
                    project_id=ctx.project_id, user_id=ctx.user_id, image_ref=image["id"],
                    flavor=flavor_copy, vcpus=flavor_copy["vcpus"],
                    memory_mb=flavor_copy["ram"], root_gb=flavor_copy["disk"],
                    ephemeral_gb=flavor_copy["ephemeral"], swap=flavor_copy["swap"],
                    key_name=wanted.key_name, key_data=key_data,
                    user_data=base64.b64encode(wanted.user_data).decode()
                    if wanted.user_data is not None else None,
                    meta=wanted.metadata,
                    config_drive=wanted.config_drive or deps.settings.force_config_drive,
                    vm_state=states.BUILDING, task_state=states.SCHEDULING,
                    power_state=states.NOSTATE, domain_name=f"instance-{uuid[:8]}",
                    reservation_id=reservation, launch_index=index, created_at=now,
                    updated_at=now)
                used_names = set(local_disks(instance.ephemeral_gb, instance.swap).names())
                for request_ in boot.volumes:
                    device = next_free_device(used_names)
                    used_names.add(device)
                    instance.block_devices.append(BlockDeviceMapping(
                        volume_id=request_.volume_id, boot_index=request_.boot_index,
                        device_name=device, status="attaching",
                        delete_on_termination=request_.delete_on_termination,
                        created_at=now))
                session.add(instance)
                session.flush()
                deps.event(ctx, "compute.instance.create.requested", instance,
                           session=session, image_id=image["id"], flavor=flavor_copy["name"])
        _reserve_volumes(caller, uuids)

        for uuid in uuids:
            deps.background(deps.builds, f"launch-{uuid}",
                            lambda uuid=uuid: launch(deps, ctx, uuid, image))
        if truthy((body["server"]).get("return_reservation_id", False)):
            response = jsonify({"reservation_id": reservation})
        else:
            response = jsonify({"server": {"id": uuids[0], "links": links("servers", uuids[0]),
                                           "OS-DCF:diskConfig": "MANUAL",
                                           "security_groups": [{"name": "default"}]}})
            response.headers["Location"] = links("servers", uuids[0])[0]["href"]
        response.status_code = 202
        return response

    def _usable_image(caller, image_id: str, flavor: dict) -> dict:
        """Nova's checks of the image at the API: it exists for the caller,
        is active, and fits the flavor (min_ram, min_disk, size)."""
        try:
            image = deps.images.show(caller, image_id)
        except RemoteError as exc:
            raise ApiError(f"The image service failed: {exc.message}", 503) from None
        if image is None:
            raise BadRequest(f"Can not find requested image {image_id}")
        if image.get("status") != "active":
            raise BadRequest(f"Image {image_id} is not active.")
        if int(image.get("min_ram") or 0) > flavor["ram"]:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if flavor["disk"]:
            root_bytes = flavor["disk"] * GIB
            if int(image.get("min_disk") or 0) > flavor["disk"]:
                raise BadRequest("Flavor's disk is too small for requested image.")
            for size in (image.get("size"), image.get("virtual_size")):
                if size and int(size) > root_bytes:
                    raise BadRequest(f"Flavor's disk is too small for requested image. "
                                     f"Flavor disk is {root_bytes} bytes, image is "
                                     f"{int(size)} bytes.")
        try:  # hw_disk_bus, CPU topology...: refused before anything is made
            guest_hardware(image, flavor["vcpus"], deps.settings.machine_type)
        except InvalidImageProperty as exc:
            raise BadRequest(str(exc)) from None
        return image

    def _check_volume(caller, volume_id: str) -> None:
        try:
            volume = deps.volumes.show_volume(caller, volume_id)
        except RemoteError as exc:
            raise ApiError(f"The volume service failed: {exc.message}", 503) from None
        if volume is None:
            raise BadRequest(f"Block Device Mapping is Invalid: failed to get volume "
                             f"{volume_id}.")
        if volume.get("status") != "available":
            raise BadRequest(f"Invalid volume: volume {volume_id} status must be "
                             f"available, but current status is: {volume.get('status')}")

    def _reserve_volumes(caller, uuids: list[str]) -> None:
        """Reserve each volume in volumed for its server (POST attachments):
        from now on nobody else can take it. If one cannot be reserved, the
        request fails and nothing of it is kept."""
        reserved: list[str] = []
        try:
            with transaction(sessions, write=False) as session:
                mappings = [(bdm.id, bdm.volume_id, bdm.instance_uuid) for uuid in uuids
                            for bdm in repo.get_instance(session, uuid, None).volumes]
            for bdm_id, volume_id, instance_uuid in mappings:
                attachment_id = deps.volumes.reserve(caller, volume_id, instance_uuid)
                reserved.append(attachment_id)
                with transaction(sessions) as session:
                    session.get(BlockDeviceMapping, bdm_id).attachment_id = attachment_id
        except RemoteError as exc:
            for attachment_id in reserved:
                try:
                    deps.volumes.delete_attachment(caller, attachment_id)
                except RemoteError:
                    pass
            with transaction(sessions) as session:
                for uuid in uuids:
                    session.delete(repo.get_instance(session, uuid, None))
            raise BadRequest(f"Block Device Mapping is Invalid: the volume could not be "
                             f"reserved: {exc.message}") from None

    # --- metadata ---------------------------------------------------------------------
    @bp.get("/servers/<server_id>/metadata")
    def list_metadata(server_id):
        with transaction(sessions, write=False) as session:
            instance = load(session, server_id, "server-metadata:index")
            return jsonify({"metadata": dict(instance.meta or {})})

    def _change_metadata(server_id: str, change) -> dict:
        with transaction(sessions) as session:
            instance = load(session, server_id, "server-metadata:update")
            if instance.task_state == states.DELETING:
                raise Conflict(f"Cannot 'update_metadata' instance {server_id} while it "
                               f"is in task_state deleting")
            metadata = change(dict(instance.meta or {}))
            try:
                instance.meta = check_metadata(metadata, deps.settings.max_metadata_items)
            except InvalidRequest as exc:
                raise BadRequest(str(exc)) from None
            except QuotaError as exc:
                raise Forbidden(str(exc)) from None
            instance.updated_at = repo.now()
            return dict(instance.meta)

    def _metadata_body() -> dict:
        metadata = json_body().get("metadata")
        if not isinstance(metadata, dict):
            raise BadRequest("Malformed request body: metadata must be an object.")
        return metadata

    @bp.put("/servers/<server_id>/metadata")
    def replace_metadata(server_id):
        new = _metadata_body()
        return jsonify({"metadata": _change_metadata(server_id, lambda _old: new)})

    @bp.post("/servers/<server_id>/metadata")
    def merge_metadata(server_id):
        new = _metadata_body()
        return jsonify({"metadata": _change_metadata(server_id, lambda old: {**old, **new})})

    @bp.get("/servers/<server_id>/metadata/<key>")
    def show_metadata_item(server_id, key):
        with transaction(sessions, write=False) as session:
            metadata = load(session, server_id, "server-metadata:index").meta or {}
            if key not in metadata:
                raise NotFound("Metadata item was not found")
            return jsonify({"meta": {key: metadata[key]}})

    @bp.put("/servers/<server_id>/metadata/<key>")
    def set_metadata_item(server_id, key):
        meta = json_body().get("meta")
        if not isinstance(meta, dict) or list(meta) != [key]:
            raise BadRequest("Request body and URI mismatch")
        _change_metadata(server_id, lambda old: {**old, **meta})
        return jsonify({"meta": meta})

    @bp.delete("/servers/<server_id>/metadata/<key>")
    def delete_metadata_item(server_id, key):
        def remove(old):
            if key not in old:
                raise NotFound("Metadata item was not found")
            return {k: v for k, v in old.items() if k != key}
        _change_metadata(server_id, remove)
        return Response(status=204)

    @bp.get("/servers/<server_id>/ips")
    def list_ips(server_id):
        with transaction(sessions, write=False) as session:
            load(session, server_id, "servers:show")
        return jsonify({"addresses": {}})

    return bp


def _sizes(flavor: dict) -> Instance:
    """An unsaved Instance carrying only a flavor's sizes (for the arithmetic)."""
    return Instance(vcpus=flavor["vcpus"], memory_mb=flavor["ram"], root_gb=flavor["disk"],
                    ephemeral_gb=flavor["ephemeral"], swap=flavor["swap"])
