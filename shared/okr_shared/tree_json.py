"""The tree view as JSON, written without recursion: by the objectives service from its rows,
and by the gateway from its read model, in the same shape.

A chain 10,000 objectives deep must render: `json.dumps` and pydantic both recurse once per
level and give up near 1,000, so nodes are written one by one from an explicit stack.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Protocol


class TreeHead(Protocol):
    """One node: its id, its parent's and its JSON without the closing brace."""

    @property
    def id(self) -> int: ...
    @property
    def parent_id(self) -> int | None: ...
    @property
    def head(self) -> str: ...


OPEN = ',"children":['
LEAF = ',"children":[]}'


def render_forest(rows: Sequence[TreeHead]) -> bytes:
    """`rows` (id, parent_id, head: a node's JSON without its closing brace, e.g. the objectives
    repository's tree_head()), in id order, as a list of nested nodes. A row whose parent is not
    among `rows` (a root, or its parent is out of view or filtered out) starts a tree of its
    own."""
    ids = {row.id for row in rows}
    children: defaultdict[int | None, list[TreeHead]] = defaultdict(list)
    roots: list[TreeHead] = []
    for row in rows:
        if row.parent_id in ids:
            children[row.parent_id].append(row)
        else:
            roots.append(row)

    # Most nodes of a big tree are leaves: one append each, and no iterator of their own.
    out: list[str] = ["["]
    write = out.append
    stack: list[Iterator[TreeHead]] = [iter(roots)]
    first = True  # the next node is the first of its list: no comma before it
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
            write("]}" if stack else "]")  # a node's children, or the list of roots
            first = False
            continue
        if not first:
            write(",")
        write(node.head)
        below = children.get(node.id)
        if below is None:
            write(LEAF)
            first = False
        else:
            write(OPEN)
            stack.append(iter(below))
            first = True
    return "".join(out).encode()
