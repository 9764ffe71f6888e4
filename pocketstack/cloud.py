"""The `pocketstack` command as an API user: logged in from clouds.yaml, as
the `openstack` client is.

Commands that act on the user's resources (`pocketstack ssh`) go through
the public APIs with the user's own token, never through a service's
database: what they may see and do is what the policies let that user see
and do. The cloud is chosen like the openstack client's: --os-cloud, else
$OS_CLOUD, else `pocketstack` (the demo user); the file is
$OS_CLIENT_CONFIG_FILE, else the stack's own clouds.yaml.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import requests
import yaml

DEFAULT_CLOUD = "pocketstack"
TIMEOUT = 30.0


class CloudError(RuntimeError):
    """Logging in or an API call failed; the message says what to do."""


@dataclass
class Cloud:
    """A logged-in user: a token and the catalog's public endpoints."""
    token: str
    endpoints: dict[str, str]      # service type -> public URL
    http: requests.Session

    @classmethod
    def login(cls, clouds_yaml: Path, cloud: str | None = None) -> Cloud:
        name = cloud or os.environ.get("OS_CLOUD") or DEFAULT_CLOUD
        path = Path(os.environ.get("OS_CLIENT_CONFIG_FILE") or clouds_yaml)
        try:
            clouds = yaml.safe_load(path.read_text())["clouds"]
        except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
            raise CloudError(f"cannot read the clouds of {path}: {error}") from None
        if name not in clouds:
            raise CloudError(f"no cloud {name!r} in {path} (clouds: {', '.join(clouds)})")
        auth = clouds[name]["auth"]
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "password": auth["password"],
            "domain": {"name": auth.get("user_domain_name", "Default")}}}},
            "scope": {"project": {"name": auth["project_name"], "domain": {
                "name": auth.get("project_domain_name", "Default")}}}}}
        http = requests.Session()
        url = auth["auth_url"].rstrip("/")
        try:
            answer = http.post(f"{url}/v3/auth/tokens", json=body, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise CloudError(f"identity at {url} does not answer ({error}); "
                             "is the stack up? (pocketstack status)") from None
        if answer.status_code != 201:
            raise CloudError(f"logging in as {auth['username']} failed: HTTP "
                             f"{answer.status_code}")
        token = answer.headers["X-Subject-Token"]
        endpoints = {entry["type"]: endpoint["url"]
                     for entry in answer.json()["token"].get("catalog", [])
                     for endpoint in entry["endpoints"] if endpoint["interface"] == "public"}
        http.headers["X-Auth-Token"] = token
        return cls(token, endpoints, http)

    def url(self, service_type: str, path: str) -> str:
        if service_type not in self.endpoints:
            raise CloudError(f"the catalog has no {service_type} service")
        base = self.endpoints[service_type].rstrip("/")
        return f"{base}{path}"

    def get(self, service_type: str, path: str, **params) -> requests.Response:
        return self._call("GET", service_type, path, params=params or None)

    def post(self, service_type: str, path: str, body: dict) -> requests.Response:
        return self._call("POST", service_type, path, json=body)

    def delete(self, service_type: str, path: str) -> requests.Response:
        return self._call("DELETE", service_type, path)

    def _call(self, method: str, service_type: str, path: str, **kwargs) -> requests.Response:
        url = self.url(service_type, path)
        try:
            return self.http.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as error:
            raise CloudError(f"{service_type} at {url} does not answer ({error})") from None
