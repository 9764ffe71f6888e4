"""/v2/tasks, /v2/tasks/{id} and /v2/images/{id}/tasks: the import tasks,
as Glance shows them. /v2/tasks is admin only (Glance's `tasks_api_access`:
the tasks API is deprecated there); a project reads the tasks of its images
at /v2/images/{id}/tasks, admins see all."""
from __future__ import annotations

from flask import Blueprint, jsonify

from imaged.api import runtime
from imaged.api.render import iso
from imaged.db.tasks import Task
from imaged.images import visible_image
from imaged.imports.flow import importer_of
from shared.api import context
from shared.errors import NotFound

# Glance's list leaves these out too.
SUMMARY_LEAVES_OUT = ("input", "result", "message", "image_id", "request_id", "user_id")

bp = Blueprint("tasks", __name__)


def task_view(task: Task) -> dict:
    return {"id": task.id, "type": task.type, "status": task.status, "owner": task.owner,
            "input": task.input, "result": task.result, "message": task.message,
            "expires_at": iso(task.expires_at), "created_at": iso(task.created_at),
            "updated_at": iso(task.updated_at), "image_id": task.image_id,
            "request_id": task.request_id, "user_id": task.user_id,
            "self": f"/v2/tasks/{task.id}", "schema": "/v2/schemas/task"}


@bp.get("/v2/tasks")
def list_tasks():
    imaged, ctx = runtime(), context()
    imaged.authorize("tasks_api_access", ctx)
    imaged.authorize("get_tasks", ctx)
    found = importer_of(imaged).tasks.list_tasks(None if ctx.is_admin else ctx.project_id)
    views = [{k: v for k, v in task_view(task).items() if k not in SUMMARY_LEAVES_OUT}
             for task in found]
    return jsonify({"tasks": views, "first": "/v2/tasks", "schema": "/v2/schemas/tasks"})


@bp.get("/v2/tasks/<task_id>")
def show_task(task_id: str):
    imaged, ctx = runtime(), context()
    imaged.authorize("tasks_api_access", ctx)
    task = importer_of(imaged).tasks.get(task_id) if len(task_id) <= 36 else None
    if task is None or not (ctx.is_admin or task.owner == ctx.project_id):
        raise NotFound(f"Task with the given ID {task_id} not found")
    imaged.authorize("get_task", ctx, project_id=task.owner)
    return jsonify(task_view(task))


@bp.get("/v2/images/<image_id>/tasks")
def image_tasks(image_id: str):
    imaged, ctx = runtime(), context()
    image = visible_image(imaged, ctx, image_id)
    imaged.authorize("get_tasks", ctx, image)
    owner = None if ctx.is_admin else ctx.project_id
    tasks = importer_of(imaged).tasks.list_tasks(owner, image.id)
    # Glance shows an image's tasks with their deleted flags and without links.
    return jsonify({"tasks": [{**{k: v for k, v in task_view(task).items()
                                  if k not in ("self", "schema")},
                               "deleted": False, "deleted_at": None} for task in tasks]})
