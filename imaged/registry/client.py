"""RegistryImageRepository: the ImageRepository of imaged-api when
`data_api = registry`. Every method is one POST /v1/rpc to imaged-registry,
with imaged's service token."""
from __future__ import annotations

from imaged.db.repository import ImageRepository
from imaged.registry.codec import decode, decode_error, encode
from shared.clients import ServiceSession
from shared.clients.session import request_id_header


class RegistryUnavailable(Exception):
    pass


class RegistryImageRepository(ImageRepository):
    def __init__(self, registry_url: str, session: ServiceSession):
        self._url = registry_url.rstrip("/") + "/v1/rpc"
        self._session = session

    def _call(self, method: str, *args, **kwargs):
        body = {"method": method, "args": [encode(arg) for arg in args],
                "kwargs": {key: encode(value) for key, value in kwargs.items()}}
        response = self._session.request("POST", self._url, json=body)
        if response.status_code != 200:
            raise RegistryUnavailable(f"imaged-registry answered HTTP {response.status_code} "
                                      f"to {method}")
        answer = response.json()
        if "error" in answer:
            raise decode_error(answer["error"])
        return decode(answer["result"])

    def create(self, image, notices=()):
        return self._call("create", image, notices=list(notices))

    def get(self, image_id):
        return self._call("get", image_id)

    def list_images(self, query, marker=None):
        return self._call("list_images", query, marker=marker)

    def save(self, image, expected_status=None, notices=()):
        return self._call("save", image, expected_status=expected_status, notices=list(notices))

    def set_status(self, image_id, expected, status, values=None, notices=()):
        return self._call("set_status", image_id, list(expected), status, values=values,
                          notices=list(notices))

    def usage(self, owner):
        return self._call("usage", owner)

    def ids_in_status(self, owner, statuses):
        return self._call("ids_in_status", owner, list(statuses))

    def pending_delete_before(self, cutoff, limit):
        return self._call("pending_delete_before", cutoff, limit)

    def add_tag(self, image_id, tag, notices=()):
        return self._call("add_tag", image_id, tag, notices=list(notices))

    def delete_tag(self, image_id, tag, notices=()):
        return self._call("delete_tag", image_id, tag, notices=list(notices))

    def add_member(self, member, notices=()):
        return self._call("add_member", member, notices=list(notices))

    def get_member(self, image_id, member_id):
        return self._call("get_member", image_id, member_id)

    def list_members(self, image_id):
        return self._call("list_members", image_id)

    def update_member(self, member, notices=()):
        return self._call("update_member", member, notices=list(notices))

    def delete_member(self, image_id, member_id, notices=()):
        return self._call("delete_member", image_id, member_id, notices=list(notices))

    def record(self, notices):
        return self._call("record", list(notices))


def registry_events(registry_url: str, session: ServiceSession):
    """For imaged-api's GET /pocketstack/v1/events in registry mode: the same
    query, asked of imaged-registry with the caller's own token (so the
    registry applies the same events policy to the same caller)."""
    def fetch(args: dict) -> list[dict]:
        from shared.api import context
        response = session.http.get(registry_url.rstrip("/") + "/pocketstack/v1/events",
                                    params=args, timeout=30,
                                    headers={"X-Auth-Token": context().auth_token,
                                             **request_id_header()})
        if response.status_code != 200:
            raise RegistryUnavailable(f"imaged-registry answered HTTP {response.status_code} "
                                      "to an events query")
        return response.json()["events"]
    return fetch
