"""One INI file per service, described by a schema in code.

Each service declares its options (name, type, default, allowed values, help)
in one place. At first start the file is written with every option commented
out at its default, so an operator reads what can be changed; at every start
it is read and checked, and a bad value stops the service with a message that
names the file, the section, the option and what is allowed.
"""
from __future__ import annotations

import configparser
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.secrets import write_private_file
from shared.strutils import NotABoolean, bool_from_string


class ConfigError(Exception):
    """A config value that cannot be used; the message is for the operator."""

    def __init__(self, file: str, section: str, option: str, problem: str):
        self.file, self.section, self.option = file, section, option
        super().__init__(f"{file}: [{section}] {option}: {problem}")


@dataclass(frozen=True)
class Opt:
    name: str
    default: Any
    help: str
    kind: str = "str"  # str, int, float, bool, list, choice, multichoice
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False

    def allowed(self) -> str:
        """Plain words for what this option accepts."""
        if self.kind in ("choice", "multichoice"):
            prefix = "one of" if self.kind == "choice" else "a comma-separated list of"
            return f"{prefix} {', '.join(self.choices)}"
        if self.kind == "bool":
            return "true or false"
        if self.kind in ("int", "float"):
            word = "an integer" if self.kind == "int" else "a number"
            if self.minimum is not None and self.maximum is not None:
                return f"{word} from {self.minimum:g} to {self.maximum:g}"
            if self.minimum is not None:
                return f"{word} of at least {self.minimum:g}"
            return word
        if self.kind == "list":
            return "a comma-separated list"
        return "a string"

    def parse(self, raw: str) -> Any:
        """Turn the text of the file into a value, or raise ValueError
        explaining why not."""
        text = raw.strip()
        if self.kind == "str":
            return text
        if self.kind == "bool":
            try:
                return bool_from_string(text)
            except NotABoolean:
                raise ValueError(f"{raw!r} is not allowed (allowed: {self.allowed()})") \
                    from None
        if self.kind in ("int", "float"):
            try:
                value = int(text) if self.kind == "int" else float(text)
            except ValueError:
                raise ValueError(f"{raw!r} is not allowed (allowed: {self.allowed()})") from None
            too_small = self.minimum is not None and value < self.minimum
            too_big = self.maximum is not None and value > self.maximum
            if too_small or too_big:
                raise ValueError(f"{raw!r} is out of range (allowed: {self.allowed()})")
            return value
        if self.kind == "choice":
            if text not in self.choices:
                raise ValueError(f"{raw!r} is not allowed (allowed: {self.allowed()})")
            return text
        items = [item.strip() for item in text.split(",") if item.strip()]
        if self.kind == "multichoice":
            bad = [item for item in items if item not in self.choices]
            if bad:
                raise ValueError(f"{', '.join(bad)} not allowed (allowed: {self.allowed()})")
        return items

    def render(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ",".join(str(item) for item in value)
        return "" if value is None else str(value)


@dataclass
class Schema:
    """All options of one service's config file."""

    filename: str
    sections: dict[str, list[Opt]] = field(default_factory=dict)
    #: Sections the operator may repeat under names of their own choosing,
    #: written [prefix:name] (imaged's [store:fast]): prefix -> their options.
    named_sections: dict[str, list[Opt]] = field(default_factory=dict)
    #: Checks across options, run once every value has parsed; each raises
    #: ConfigError (a default store that is not among the stores...).
    checks: list[Callable[[Config], None]] = field(default_factory=list)

    def add(self, section: str, opts: Iterable[Opt]) -> Schema:
        self.sections.setdefault(section, []).extend(opts)
        return self

    def add_named(self, prefix: str, opts: Iterable[Opt]) -> Schema:
        self.named_sections.setdefault(prefix, []).extend(opts)
        return self

    def check(self, check: Callable[[Config], None]) -> Schema:
        self.checks.append(check)
        return self

    def option(self, section: str, name: str) -> Opt | None:
        return next((o for o in self.sections.get(section, []) if o.name == name), None)


class Section:
    """Attribute access to one section's values: conf.token.expiration."""

    def __init__(self, values: dict[str, Any]):
        self._values = values

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]


class Config:
    def __init__(self, path: Path, values: dict[str, dict[str, Any]],
                 named: dict[str, dict[str, dict[str, Any]]] | None = None):
        self.path = path
        self._sections = {name: Section(v) for name, v in values.items()}
        self._named = {prefix: {name: Section(v) for name, v in sections.items()}
                       for prefix, sections in (named or {}).items()}

    def named(self, prefix: str) -> dict[str, Section]:
        """The [prefix:name] sections of the file, by name (in file order)."""
        return dict(self._named.get(prefix, {}))

    def __getattr__(self, name: str) -> Section:
        try:
            return self._sections[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Section:
        return self._sections[name]


def render_defaults(schema: Schema, settings: dict[str, dict[str, Any]] | None = None) -> str:
    """The text of a fresh config file: every option with its help and its
    default commented out; the given settings written uncommented."""
    settings = settings or {}
    lines = [f"# {schema.filename}: PocketStack configuration.",
             "# Every option is shown with its default, commented out.",
             "# Uncomment and change a line to override it; restart the service to apply.", ""]
    for section, opts in schema.sections.items():
        lines.append(f"[{section}]")
        for opt in opts:
            for help_line in textwrap.wrap(opt.help, 76):
                lines.append(f"# {help_line}")
            lines.append(f"# Allowed: {opt.allowed()}.")
            if opt.name in settings.get(section, {}):
                lines.append(f"{opt.name} = {opt.render(settings[section][opt.name])}")
            else:
                lines.append(f"#{opt.name} = {opt.render(opt.default)}")
            lines.append("")
    for prefix, opts in schema.named_sections.items():
        lines.append(f"# Any number of [{prefix}:NAME] sections, each with these options:")
        lines.append(f"#[{prefix}:NAME]")
        for opt in opts:
            for help_line in textwrap.wrap(opt.help, 76):
                lines.append(f"# {help_line}")
            lines.append(f"# Allowed: {opt.allowed()}.")
            lines.append(f"#{opt.name} = {opt.render(opt.default)}")
            lines.append("")
    return "\n".join(lines)


def ensure_config_file(schema: Schema, etc_dir: Path,
                       settings: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write the service's config file with commented defaults if it does not
    exist yet. The file may hold secrets, so it is written 0600."""
    path = etc_dir / schema.filename
    if not path.exists():
        write_private_file(path, render_defaults(schema, settings))
    return path


def load_config(schema: Schema, path: Path) -> Config:
    """Read and check the file; raise ConfigError for the first bad value."""
    parser = configparser.ConfigParser(interpolation=None)
    if path.exists():
        try:
            parser.read(path)
        except configparser.Error as exc:
            raise ConfigError(schema.filename, "-", "-", f"cannot be parsed: {exc}") from None
    named: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in schema.named_sections}
    for section in parser.sections():
        prefix, _, name = section.partition(":")
        if prefix in schema.named_sections and name:
            named[prefix][name] = _parse_section(schema.filename, section, parser,
                                                 schema.named_sections[prefix])
            continue
        if section not in schema.sections:
            allowed = [*schema.sections, *(f"{p}:NAME" for p in schema.named_sections)]
            raise ConfigError(schema.filename, section, "-",
                              f"unknown section (allowed: {', '.join(allowed)})")
        for name in parser[section]:
            if schema.option(section, name) is None:
                known = ", ".join(o.name for o in schema.sections[section])
                raise ConfigError(schema.filename, section, name,
                                  f"unknown option (options of this section: {known})")
    values: dict[str, dict[str, Any]] = {}
    for section, opts in schema.sections.items():
        values[section] = {}
        for opt in opts:
            if parser.has_option(section, opt.name):
                try:
                    values[section][opt.name] = opt.parse(parser[section][opt.name])
                except ValueError as exc:
                    raise ConfigError(schema.filename, section, opt.name, str(exc)) from None
            else:
                values[section][opt.name] = opt.default
    config = Config(path, values, named)
    for check in schema.checks:
        check(config)
    return config


def _parse_section(filename: str, section: str, parser: configparser.ConfigParser,
                   opts: list[Opt]) -> dict[str, Any]:
    """One [prefix:name] section: every option known, parsed, else its default."""
    known = {opt.name: opt for opt in opts}
    for name in parser[section]:
        if name not in known:
            raise ConfigError(filename, section, name, f"unknown option (options of this "
                                                       f"section: {', '.join(known)})")
    values = {}
    for opt in opts:
        try:
            values[opt.name] = opt.parse(parser[section][opt.name]) \
                if parser.has_option(section, opt.name) else opt.default
        except ValueError as exc:
            raise ConfigError(filename, section, opt.name, str(exc)) from None
    return values


def set_option(path: Path, section: str, option: str, value: str) -> None:
    """Write `option = value` into one section of an existing config file,
    in place of the commented default line first start wrote (or of a line
    already setting it), else at the end of the section; the rest of the
    file, comments included, stays as it was. Used by `pocketstack up` for
    the few values it derives from the stack's own file."""
    lines = path.read_text().splitlines()
    current, insert_at, replaced = None, None, False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if current == section and insert_at is None:
                insert_at = index
            current = stripped[1:-1]
        elif current == section and "=" in stripped \
                and stripped.lstrip("#").split("=", 1)[0].strip() == option:
            lines[index] = f"{option} = {value}"
            replaced = True
            break
    if not replaced:
        if current == section and insert_at is None:
            insert_at = len(lines)
        if insert_at is None:
            lines += ["", f"[{section}]"]
            insert_at = len(lines)
        lines.insert(insert_at, f"{option} = {value}")
    write_private_file(path, "\n".join(lines) + "\n")
