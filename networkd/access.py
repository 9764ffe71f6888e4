"""Who may do what to which network resource: Neutron's policy checks, in
Neutron's words, for the code that knows the target.

Neutron checks one rule per action ("create_network") and one more per
attribute the request sets ("create_network:shared"); a refusal names every
rule that was checked: "(rule:create_network and rule:create_network:shared)
is disallowed by policy". A resource the caller may not even see is "not
found" (404), never "forbidden": the caller learns nothing about it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from networkd.errors import PolicyNotAuthorized
from networkd.policies import RULE_NAMES
from shared.context import RequestContext
from shared.policy import PolicyEnforcer


@dataclass(frozen=True)
class Access:
    """One caller's view of the policy."""
    policy: PolicyEnforcer
    ctx: RequestContext

    @property
    def is_admin(self) -> bool:
        return self.ctx.is_admin

    @property
    def project_id(self) -> str | None:
        return self.ctx.project_id

    def allows(self, rule: str, target: dict) -> bool:
        return self.policy.allows(rule, target, self.ctx)

    def check(self, action: str, target: dict, attributes: Iterable[str] = ()) -> None:
        """The action's rule and, for each attribute set, `<action>:<attribute>`
        (only when such a rule exists, as Neutron); PolicyNotAuthorized (403)
        naming them all when one says no."""
        rules = [action] + [f"{action}:{name}" for name in attributes
                            if f"{action}:{name}" in RULE_NAMES]
        if all(self.allows(rule, target) for rule in rules):
            return
        words = " and ".join(f"rule:{rule}" for rule in rules)
        raise PolicyNotAuthorized(rule=f"({words})" if len(rules) > 1 else words)

    def hidden_fields(self, action: str, target: dict, fields: Iterable[str]) -> set[str]:
        """The fields among `fields` that have a `<action>:<field>` rule the
        caller fails (Neutron leaves them out of what it shows)."""
        return {name for name in fields
                if f"{action}:{name}" in RULE_NAMES
                and not self.allows(f"{action}:{name}", target)}
