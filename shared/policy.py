"""Policy: who may do what, in the oslo.policy rule language.

Each service lists its rules with their defaults in code (like
"identity:list_projects": "role:admin"). An operator overrides single rules
in a file next to the service's config, `<service>-policy.yaml` (or the
older JSON form, `<service>-policy.json`: both are accepted, YAML first).
The file is re-read when it changes, so a lab instructor can grant or take
away a permission without a restart and without touching code. Rules are
evaluated by oslo.policy itself, the library OpenStack services use.

Evaluating a rule with oslo.policy takes a fraction of a millisecond, which
is a good part of a cheap request. The answer only depends on the rules, the
rule name, the target and the caller's credentials, so each process keeps
its answers until the rules change (a new operator file). Not with a rule
that asks a remote server (an `http:` check): its answer may change anytime.
"""
from __future__ import annotations

import threading
from pathlib import Path

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

from shared.context import RequestContext
from shared.errors import Forbidden

RuleDefault = oslo_policy.RuleDefault
MAX_REMEMBERED = 4096  # decisions kept per process (then forgotten all at once)

# Rules every service shares, in Keystone's default-roles model:
# admin implies member implies reader (the roles in a token are already
# expanded by identity, so "role:reader" also matches a member).
BASE_RULES = [
    RuleDefault("admin_required", "role:admin", "The caller has the admin role."),
    RuleDefault("service_role", "role:service", "The caller is a PocketStack service."),
    RuleDefault("service_or_admin", "rule:admin_required or rule:service_role",
                "An admin, or another service acting for a user."),
    RuleDefault("project_member", "role:member and project_id:%(project_id)s",
                "A member of the project that owns the target."),
    RuleDefault("project_reader", "role:reader and project_id:%(project_id)s",
                "A reader of the project that owns the target."),
    RuleDefault("admin_or_member", "rule:admin_required or rule:project_member",
                "An admin, or a member of the target's project."),
    RuleDefault("admin_or_reader", "rule:admin_required or rule:project_reader",
                "An admin, or a reader of the target's project."),
]


class PolicyEnforcer:
    def __init__(self, defaults: list[RuleDefault], yaml_file: Path):
        self._yaml_file = yaml_file
        self._json_file = yaml_file.with_suffix(".json")
        self._defaults = BASE_RULES + list(defaults)
        self._lock = threading.Lock()
        self._loaded_signature: tuple[str, int | None, int | None] | None = None
        self._enforcer = self._new_enforcer(self.operator_file)
        self._decisions: dict[tuple, bool] = {}
        self._remember: bool | None = None  # known once the rules are loaded: no remote checks

    def _new_enforcer(self, policy_file: Path) -> oslo_policy.Enforcer:
        conf = cfg.ConfigOpts()
        conf([], project="pocketstack", default_config_files=[], default_config_dirs=[])
        enforcer = oslo_policy.Enforcer(conf, policy_file=str(policy_file))
        enforcer.register_defaults(self._defaults)
        return enforcer

    @property
    def operator_file(self) -> Path:
        """The operator's file in use: the YAML one if present, else JSON."""
        return self._yaml_file if self._yaml_file.exists() or not self._json_file.exists() \
            else self._json_file

    def _follow_operator_file(self) -> None:
        """Start afresh whenever the operator's file appears, changes, moves
        from YAML to JSON or goes away (then the defaults apply again)."""
        chosen = self.operator_file
        try:
            stat = chosen.stat()
            signature: tuple[str, int | None, int | None] = \
                (str(chosen), stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            signature = (str(chosen), None, None)
        if signature != self._loaded_signature:
            self._enforcer = self._new_enforcer(chosen)
            self._loaded_signature = signature
            self._decisions = {}
            self._remember = None

    def allows(self, rule: str, target: dict, context: RequestContext) -> bool:
        credentials = context.policy_credentials()
        with self._lock:
            self._follow_operator_file()
            key = _decision_key(rule, target, credentials) if self._remember is not False \
                else None
            if key is not None and key in self._decisions:
                return self._decisions[key]
            allowed = bool(self._enforcer.enforce(rule, target, credentials))
            if self._remember is None:
                self._remember = not _asks_remote_servers(self._enforcer.rules)
            if key is not None and self._remember:
                if len(self._decisions) >= MAX_REMEMBERED:
                    self._decisions.clear()
                self._decisions[key] = allowed
            return allowed

    def authorize(self, rule: str, target: dict, context: RequestContext) -> None:
        """Raise 403 unless the rule allows the caller on the target."""
        if not self.allows(rule, target, context):
            raise Forbidden(f"Policy does not allow {rule} to be performed.")


def _decision_key(rule: str, target: dict, credentials: dict) -> tuple | None:
    """A hashable form of the question, or None (then it is not remembered)."""
    try:
        key = (rule, _frozen(target), _frozen(credentials))
        hash(key)
    except TypeError:
        return None
    return key


def _frozen(values: dict) -> tuple:
    return tuple(sorted((name, tuple(value) if isinstance(value, list) else value)
                        for name, value in values.items()))


def _asks_remote_servers(rules) -> bool:
    return any("http:" in str(check) or "https:" in str(check) for check in rules.values())
