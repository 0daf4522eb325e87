"""Objective helpers the tests share."""

from __future__ import annotations

import secrets
from typing import Any

from tests.support.system import RunningSystem

Json = dict[str, Any]


async def make(system: RunningSystem, headers: dict[str, str] | None = None, **body: Any) -> Json:
    body.setdefault("year", 2026)
    response = await system.client.post(
        "/api/v1/objectives", json=body, headers=headers or system.admin_headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def tree(system: RunningSystem) -> tuple[Json, Json, Json, Json]:
    """company > division > team > individual, in a department of its own."""
    dept = f"D-{secrets.token_hex(3)}"
    company = await make(system, title="Company", level="company")
    division = await make(
        system, title="Division", level="division", parent_id=company["id"], department=dept
    )
    team = await make(system, title="Team", level="team", parent_id=division["id"], department=dept)
    person = await make(
        system, title="Me", level="individual", parent_id=team["id"], department=dept
    )
    return company, division, team, person
