"""The server an action is aimed at: 404 unless the caller may see it, then
the policy rule on its project (as Nova's common.get_instance then
context.can). A module of its own so that the action modules the dispatch
in actions.py calls can use it without importing actions.py back."""
from __future__ import annotations

from computed.api.common import authorize, project_scope, runtime
from computed.db import repository as repo
from shared.api import context
from shared.db import transaction


def authorize_on_server(server_id: str, rule: str) -> None:
    with transaction(runtime().deps.sessions, write=False) as session:
        instance = repo.get_instance(session, server_id, project_scope())
        authorize(rule, context(), project_id=instance.project_id)
