"""Property protections: which roles may create, read, update or delete
which extra image properties (Glance's property-protections-roles.conf).

An instructor locks os_distro to admins with a file such as:

    [^os_distro$]
    create = admin
    read = @
    update = admin
    delete = admin

    [.*]
    create = @
    read = @
    update = @
    delete = @

Sections are regular expressions matched against the property name, in the
order of the file; the first match decides. For each operation, a
comma-separated list of roles: `@` means every role, `!` means nobody. A
property that matches no section is refused, as in Glance, so files usually
end with the catch-all `[.*]`. Core properties (name, disk_format...) are not
concerned: policy guards them.
"""
from __future__ import annotations

import configparser
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

OPERATIONS = ("create", "read", "update", "delete")
EVERYONE, NOBODY = "@", "!"


class ProtectionsFileError(Exception):
    """The rules file cannot be used; imaged refuses to start with it."""


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern
    roles: dict[str, frozenset[str]]

    def allows(self, operation: str, roles: Iterable[str]) -> bool:
        allowed = self.roles[operation]
        if EVERYONE in allowed:
            return True
        if NOBODY in allowed:
            return False
        return bool(allowed & {role.lower() for role in roles})


class PropertyProtections:
    def __init__(self, rules: list[Rule]):
        self._rules = rules

    @classmethod
    def from_file(cls, path: Path) -> PropertyProtections:
        parser = configparser.ConfigParser(interpolation=None, default_section="__none__")
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case (configparser's documented way)
        try:
            with open(path) as handle:
                parser.read_file(handle)
        except (OSError, configparser.Error) as exc:
            raise ProtectionsFileError(f"{path}: cannot be read: {exc}") from None
        rules = []
        for section in parser.sections():
            try:
                pattern = re.compile(section)
            except re.error as exc:
                raise ProtectionsFileError(f"{path}: [{section}] is not a valid regular "
                                           f"expression: {exc}") from None
            roles = {}
            for operation in OPERATIONS:
                if operation not in parser[section]:
                    raise ProtectionsFileError(f"{path}: [{section}] has no '{operation}' "
                                               "(each section names create, read, update "
                                               "and delete)")
                values = frozenset(r.strip().lower() for r in parser[section][operation]
                                   .split(",") if r.strip())
                if EVERYONE in values and NOBODY in values:
                    raise ProtectionsFileError(f"{path}: [{section}] {operation} has both "
                                               "'@' and '!'")
                roles[operation] = values
            unknown = set(parser[section]) - set(OPERATIONS)
            if unknown:
                raise ProtectionsFileError(f"{path}: [{section}] unknown option(s) "
                                           f"{', '.join(sorted(unknown))}")
            rules.append(Rule(pattern, roles))
        return cls(rules)

    def allows(self, operation: str, name: str, roles: Iterable[str]) -> bool:
        for rule in self._rules:
            if rule.pattern.search(name):
                return rule.allows(operation, roles)
        return False

    def readable(self, properties: dict, roles: Iterable[str]) -> dict:
        """The properties the roles may read (the others are left out of
        responses, as if they did not exist)."""
        roles = list(roles)
        return {key: value for key, value in properties.items()
                if self.allows("read", key, roles)}


class NoProtections:
    """Used when no rules file is configured: every property is open."""

    def allows(self, operation: str, name: str, roles: Iterable[str]) -> bool:
        return True

    def readable(self, properties: dict, roles: Iterable[str]) -> dict:
        return properties
