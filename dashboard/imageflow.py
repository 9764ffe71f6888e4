"""The status flow of an image (Glance v2), as a diagram to draw.

The states an image goes through and the moves between them, each with the
call or the event that makes it, laid out on a small grid. The template
draws it as inline SVG and lights the image's current status.
"""
from __future__ import annotations

from dataclasses import dataclass

BOX_WIDTH, BOX_HEIGHT = 118, 34
COLUMN, ROW = 178, 84
MARGIN = 12


@dataclass(frozen=True)
class State:
    name: str
    column: int
    row: int
    means: str

    @property
    def x(self) -> int:
        return MARGIN + self.column * COLUMN

    @property
    def y(self) -> int:
        return MARGIN + self.row * ROW


@dataclass(frozen=True)
class Move:
    source: str
    target: str
    why: str


STATES = [
    State("queued", 0, 1, "the record exists, no data yet"),
    State("saving", 1, 0, "data is being uploaded (PUT /file)"),
    State("uploading", 1, 2, "data is being staged for an import (PUT /stage)"),
    State("importing", 2, 2, "the import task copies the staged data into a store"),
    State("killed", 2, 0, "the upload failed: bad data, checksum or size"),
    State("active", 3, 1, "the data is stored and may be used"),
    State("deactivated", 4, 0, "an admin hid the data (reactivate brings it back)"),
    State("pending_delete", 4, 2, "deleted, the scrubber removes the data later"),
    State("deleted", 5, 1, "gone"),
]
MOVES = [
    Move("queued", "saving", "upload"),
    Move("saving", "active", "data stored"),
    Move("saving", "killed", "bad upload"),
    Move("queued", "uploading", "stage"),
    Move("uploading", "importing", "import"),
    Move("importing", "active", "imported"),
    Move("active", "deactivated", "deactivate"),
    Move("deactivated", "active", "reactivate"),
    Move("active", "pending_delete", "delete (delayed)"),
    Move("pending_delete", "deleted", "scrubbed"),
    Move("active", "deleted", "delete"),
]
WIDTH = MARGIN * 2 + 5 * COLUMN + BOX_WIDTH
HEIGHT = MARGIN * 2 + 2 * ROW + BOX_HEIGHT


@dataclass(frozen=True)
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float
    why: str
    label_x: float
    label_y: float


def _edge_point(state: State, towards_x: float, towards_y: float) -> tuple[float, float]:
    """Where the line from the box's centre towards a point leaves the box."""
    cx, cy = state.x + BOX_WIDTH / 2, state.y + BOX_HEIGHT / 2
    dx, dy = towards_x - cx, towards_y - cy
    scale = min((BOX_WIDTH / 2 + 3) / abs(dx) if dx else float("inf"),
                (BOX_HEIGHT / 2 + 3) / abs(dy) if dy else float("inf"))
    return cx + dx * scale, cy + dy * scale


def arrows() -> list[Arrow]:
    by_name = {state.name: state for state in STATES}
    result = []
    for move in MOVES:
        source, target = by_name[move.source], by_name[move.target]
        # Two moves between the same states (deactivate, reactivate) are
        # drawn side by side rather than on top of each other.
        twin = any(m.source == move.target and m.target == move.source for m in MOVES)
        shift = (6 if move.source < move.target else -6) if twin else 0
        sx, sy = source.x + BOX_WIDTH / 2 + shift, source.y + BOX_HEIGHT / 2 + shift
        tx, ty = target.x + BOX_WIDTH / 2 + shift, target.y + BOX_HEIGHT / 2 + shift
        x1, y1 = _edge_point(source, tx, ty)
        x2, y2 = _edge_point(target, sx, sy)
        # The label sits beside the middle of the arrow, on the side of its
        # twin's shift, so two labels never overlap.
        label_x = (x1 + x2) / 2 + shift * 5
        label_y = (y1 + y2) / 2 + (shift * 2 if shift else -4)
        result.append(Arrow(x1 + shift, y1 + shift, x2 + shift, y2 + shift, move.why,
                            label_x, label_y))
    return result


def diagram(current_status: str | None) -> dict:
    """What the template needs to draw the flow with `current_status` lit."""
    return {"states": STATES, "arrows": arrows(), "width": WIDTH, "height": HEIGHT,
            "box_width": BOX_WIDTH, "box_height": BOX_HEIGHT, "current": current_status}
