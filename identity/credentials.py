"""The stack's generated passwords, the credentials file and clouds.yaml.

`pocketstack up` writes them before any service starts, without the
database (identity seeds its users from them when it starts:
identity/bootstrap.py). A password, once generated, never changes.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass, field
from pathlib import Path

from shared.paths import StateLayout
from shared.secrets import generate_password, write_private_file

# swift: the user the Swift proxy validates tokens as, when the stack runs
# Swift (seeded always, so that enabling Swift later needs no new seed).
SERVICE_USERS = ["imaged", "computed", "volumed", "networkd", "swift"]


@dataclass
class Credentials:
    """Generated passwords, by user name."""
    passwords: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load_or_create(cls, path: Path) -> Credentials:
        parser = configparser.ConfigParser(interpolation=None)
        if path.exists():
            parser.read(path)
        passwords = dict(parser["passwords"]) if parser.has_section("passwords") else {}
        changed = False
        for user in ["admin", "demo", *SERVICE_USERS]:
            if user not in passwords:
                passwords[user] = generate_password()
                changed = True
        credentials = cls(passwords)
        if changed or not path.exists():
            credentials.save(path)
        return credentials

    def save(self, path: Path) -> None:
        lines = ["# PocketStack credentials, generated at set-up. Keep this file private.",
                 "# Users admin (project admin, role admin) and demo (project demo, role",
                 "# member); the others are the services' own users (project service).",
                 "[passwords]"]
        lines += [f"{user} = {password}" for user, password in self.passwords.items()]
        write_private_file(path, "\n".join(lines) + "\n")


def write_clouds_yaml(path: Path, identity_url: str, credentials: Credentials,
                      region: str) -> None:
    import yaml

    def cloud(user: str) -> dict:
        return {"auth": {"auth_url": identity_url, "username": user,
                         "password": credentials.passwords[user], "project_name": user,
                         "user_domain_name": "Default", "project_domain_name": "Default"},
                "region_name": region, "identity_api_version": 3, "interface": "public"}
    document = {"clouds": {"pocketstack": cloud("demo"), "pocketstack-admin": cloud("admin")}}
    write_private_file(path, yaml.safe_dump(document, sort_keys=False))


def write_client_files(state: StateLayout, identity_conf) -> Credentials:
    """The credentials file (passwords generated if missing) and clouds.yaml."""
    state.create()
    credentials = Credentials.load_or_create(state.credentials)
    write_clouds_yaml(state.clouds_yaml, identity_conf.catalog.identity_url, credentials,
                      identity_conf.catalog.region)
    return credentials
