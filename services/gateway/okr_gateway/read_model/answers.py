"""The read routes answered from the store, as the objectives service answers them: the same
checks in the same order (a role without objectives is 403, an objective out of view is 404),
the same selection and order, the same JSON. tests/integration/test_read_model.py compares the
two on a random world for every role."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from operator import attrgetter

from okr_gateway.read_model.store import ObjectiveStore, Record
from okr_shared.contracts.common import Actor, Role
from okr_shared.contracts.objectives import ObjectiveStatus, Quarter
from okr_shared.errors import Forbidden, NotFound
from okr_shared.objective_rules import (
    allowed_actions,
    has_objectives_role,
    no_objectives_role,
    not_found,
    sees_objective,
)
from okr_shared.tree_json import LEAF, OPEN, render_forest

BY_ID = attrgetter("id")


class Answers:
    def __init__(self, store: ObjectiveStore) -> None:
        self.store = store

    def detail(self, actor: Actor, record: Record, owner_name: str | None) -> tuple[bytes, int]:
        """ObjectiveDetail's JSON and the objective's version (for the ETag), of a record
        `visible` gave; the gateway knows the owner's name."""
        parent = self.store.records.get(record.parent_id) if record.parent_id else None
        extra = {
            "owner_name": owner_name,
            "parent_title": parent.title if parent and self._sees(actor, parent) else None,
            "child_count": sum(1 for _ in self._children(actor, record.id)),
            "kpi_count": self.store.active_links.get(record.id, 0),
            "allowed_actions": allowed_actions(
                actor, record.owner_id, record.department, record.created_by
            ),
        }
        return self._with_extra(record.body, extra), record.version

    def children(self, actor: Actor, objective_id: int) -> bytes:
        self.visible(actor, objective_id)
        return _json_list(r.body for r in sorted(self._children(actor, objective_id), key=BY_ID))

    def tree_level(self, actor: Actor, parent_id: int | None) -> bytes:
        """The roots of the caller's tree view (live objectives whose parent is not in view),
        or the children of `parent_id`; each with `child_count`, its children in view."""
        if parent_id is not None:
            level: Iterable[Record] = self._children(actor, self.visible(actor, parent_id).id)
        else:
            if not has_objectives_role(actor):
                raise Forbidden(no_objectives_role(actor))
            self.store.today()
            # An admin sees every live objective: no rule to ask 111,111 times for the roots.
            sees = _live if actor.role is Role.ADMIN else partial(self._sees, actor)
            records = self.store.records

            def starts_a_tree(record: Record) -> bool:
                parent = records.get(record.parent_id) if record.parent_id else None
                return sees(record) and (parent is None or not sees(parent))

            level = filter(starts_a_tree, records.values())
        return _json_list(
            self._with_extra(r.body, {"child_count": sum(1 for _ in self._children(actor, r.id))})
            for r in sorted(level, key=BY_ID)
        )

    @staticmethod
    def _with_extra(body: bytes, extra: Mapping[str, object]) -> bytes:
        """An object's JSON with more fields."""
        return body[:-1] + b"," + json.dumps(extra).encode()[1:]

    def ancestors(self, actor: Actor, objective_id: int) -> bytes:
        """Nearest parent first; those deleted or out of view are left out (the walk goes on
        through them)."""
        record = self.visible(actor, objective_id)
        found, seen = [], {record.id}
        parent = self.store.records.get(record.parent_id) if record.parent_id else None
        while parent is not None and parent.id not in seen:
            seen.add(parent.id)
            if self._sees(actor, parent):
                found.append(parent.body)
            parent = self.store.records.get(parent.parent_id) if parent.parent_id else None
        return _json_list(found)

    def tree(
        self,
        actor: Actor,
        root_id: int | None,
        year: int | None,
        quarter: Quarter | None,
        status: ObjectiveStatus | None,
    ) -> bytes:
        """Nested trees: under `root_id` (itself included), or every one the caller may see."""
        if not has_objectives_role(actor):
            raise Forbidden(no_objectives_role(actor))
        self.store.today()
        admin = actor.role is Role.ADMIN
        if root_id is None:
            candidates: Iterable[Record] = self.store.records.values()
        elif admin and year is None and quarter is None and status is None:
            return self._whole_subtree(self.visible(actor, root_id))
        else:
            candidates = self._live_subtree(self.visible(actor, root_id))
        # An admin sees every live objective: no rule to ask 111,111 times for the whole tree.
        sees = _live if admin else partial(self._sees, actor)
        rows = [
            r
            for r in candidates
            if sees(r)
            and (year is None or r.year == year)
            and (quarter is None or r.quarter == quarter)
            and (status is None or r.status == status)
        ]
        rows.sort(key=BY_ID)
        return render_forest(rows)

    def visible(self, actor: Actor, objective_id: int) -> Record:
        """The objective if the caller may see it: 403 for a role without objectives, 404 for
        one missing or out of view."""
        if not has_objectives_role(actor):
            raise Forbidden(no_objectives_role(actor))
        self.store.today()  # every read starts here or in `tree`
        record = self.store.records.get(objective_id)
        if record is None or not self._sees(actor, record):
            raise NotFound(not_found(objective_id))
        return record

    def sees(self, actor: Actor, objective_id: int) -> bool:
        """Whether the caller may see this objective (live, and in their view)."""
        record = self.store.records.get(objective_id)
        return record is not None and self._sees(actor, record)

    @staticmethod
    def _sees(actor: Actor, record: Record) -> bool:
        return not record.deleted and sees_objective(actor, record.owner_id, record.department)

    def _children(self, actor: Actor, parent_id: int) -> Iterable[Record]:
        records = self.store.records
        for child_id in self.store.children.get(parent_id, ()):
            child = records[child_id]
            if self._sees(actor, child):
                yield child

    def _whole_subtree(self, root: Record) -> bytes:
        """`root` and every live objective below it, nested, straight from the store: what
        `render_forest` makes of them (siblings in id order), the same bytes, without
        collecting and sorting them first: an admin's tree without filters, the largest
        there is, in about half the time."""
        records, children = self.store.records, self.store.children
        out: list[str] = ["[", root.head]
        write = out.append
        seen = {root.id}  # events applied out of order could make a cycle for a moment
        stack: list[Iterator[int]] = []
        below = children.get(root.id)
        if below:
            write(OPEN)
            stack.append(iter(sorted(below)))
        else:
            write(LEAF)
        first = True
        while stack:
            child_id = next(stack[-1], None)
            if child_id is None:
                stack.pop()
                write("]}")
                first = False
                continue
            child = records[child_id]
            if child.deleted or child_id in seen:
                continue
            seen.add(child_id)
            if not first:
                write(",")
            write(child.head)
            below = children.get(child_id)
            if below:
                write(OPEN)
                stack.append(iter(sorted(below)))
                first = True
            else:
                write(LEAF)
                first = False
        write("]")
        return "".join(out).encode()

    def _live_subtree(self, root: Record) -> list[Record]:
        """`root` and every live objective below it, through live ones only. (The service's tree
        has no cycle; events applied out of order could make one here for a moment.)"""
        records, children = self.store.records, self.store.children
        found, waiting, seen = [root], [root.id], {root.id}
        while waiting:
            for child_id in children.get(waiting.pop(), ()):
                child = records[child_id]
                if not child.deleted and child_id not in seen:
                    seen.add(child_id)
                    found.append(child)
                    waiting.append(child_id)
        return found


def _live(record: Record) -> bool:
    return not record.deleted


def _json_list(bodies: Iterable[bytes]) -> bytes:
    return b"[" + b",".join(bodies) + b"]"
