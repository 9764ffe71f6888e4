"""The [import] section of imaged-api.conf as one plain object.

(`import` is a Python keyword, so `conf.import` cannot be written: the
section is read here once, and the rest of imaged/imports uses this.)
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ImportSettings:
    methods: tuple[str, ...]
    staging_dir: Path
    convert: bool
    output_format: str
    convert_timeout: float
    allowed_schemes: frozenset[str]
    allowed_ports: frozenset[int]
    allowed_hosts: frozenset[str]
    disallowed_hosts: frozenset[str]
    download_timeout: float
    task_ttl_hours: int

    @classmethod
    def from_config(cls, conf, state_lib: Path) -> ImportSettings:
        section = conf["import"]
        try:
            ports = frozenset(int(port) for port in section.allowed_ports)
        except ValueError:
            raise ValueError(f"[import] allowed_ports must be port numbers, got "
                             f"{section.allowed_ports!r}") from None
        staging = Path(section.staging_dir) if section.staging_dir \
            else state_lib / "imaged" / "staging"
        return cls(methods=tuple(section.enabled_import_methods), staging_dir=staging,
                   convert=section.image_conversion, output_format=section.output_format,
                   convert_timeout=section.convert_timeout,
                   allowed_schemes=frozenset(section.allowed_schemes),
                   allowed_ports=ports,
                   allowed_hosts=frozenset(h.lower() for h in section.allowed_hosts),
                   disallowed_hosts=frozenset(h.lower() for h in section.disallowed_hosts),
                   download_timeout=section.web_download_timeout,
                   task_ttl_hours=section.task_time_to_live)
