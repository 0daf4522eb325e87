"""Every route of the API either names the scope a key needs (in the OpenAPI document, from the
route's own dependency) and refuses keys without it, or refuses keys outright."""

from __future__ import annotations

import re
from typing import Any

from tests.support.system import RunningSystem

SCOPES = [
    "objectives:read",
    "objectives:write",
    "kpis:read",
    "kpis:write",
    "values:write",
    "webhooks:manage",
]
OPEN = {("POST", "/api/v1/auth/login")}  # no credentials at all
ANY_CALLER = {("GET", "/api/v1/auth/me")}  # who am I: a key may ask


def operations(system: RunningSystem) -> dict[tuple[str, str], list[str]]:
    """(method, path) -> the scopes its security requirement names."""
    found: dict[tuple[str, str], list[str]] = {}
    for path, ops in system.app.openapi()["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, op in ops.items():
            requirements: list[dict[str, list[str]]] = op.get("security", [])
            found[(method.upper(), path)] = sorted(
                {s for r in requirements for v in r.values() for s in v}
            )
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)  # every id in a path is a positive integer


async def test_routes_name_the_scopes_they_need(system: RunningSystem) -> None:
    found = operations(system)
    assert found[("GET", "/api/v1/objectives")] == ["objectives:read"]
    assert found[("POST", "/api/v1/objectives")] == ["objectives:write"]
    assert found[("GET", "/api/v1/kpis/{kpi_id}")] == ["kpis:read"]
    assert found[("PUT", "/api/v1/kpis/{kpi_id}")] == ["kpis:write"]
    assert found[("POST", "/api/v1/kpis/{kpi_id}/values")] == ["values:write"]
    assert found[("POST", "/api/v1/kpis/values/batch")] == ["values:write"]
    assert found[("GET", "/api/v1/progress/stream")] == ["objectives:read"]
    for people_only in (
        ("POST", "/api/v1/api-keys"),
        ("GET", "/api/v1/users"),
        ("GET", "/api/v1/audit/security"),
        ("POST", "/api/v1/auth/logout"),
    ):
        assert found[people_only] == [], people_only


async def test_a_key_without_the_scope_is_refused_everywhere(system: RunningSystem) -> None:
    keys: dict[str, str] = {}
    for scope in SCOPES:  # an admin's: the role takes nothing away
        created = await system.post_api_key(system.admin_headers, name=scope, scopes=[scope])
        keys[scope] = created.json()["key"]
    checked = 0
    for (method, path), needed in operations(system).items():
        if (method, path) in OPEN:
            continue
        if (method, path) in ANY_CALLER:
            for key in keys.values():
                answer = await _call(system, method, path, key)
                assert answer.status_code == 200, (method, path)
            continue
        lacking = next(key for scope, key in keys.items() if scope not in needed)
        answer = await _call(system, method, path, lacking)
        assert answer.status_code == 403, (method, path, answer.text)
        detail = answer.json()["detail"]
        if needed:
            assert detail.startswith(f"this API key lacks the scope {needed[0]}"), (path, detail)
        else:
            assert detail.startswith("an API key may not do this"), (path, detail)
        checked += 1
    assert checked >= 30


async def test_a_key_with_the_scope_gets_through(system: RunningSystem) -> None:
    created = await system.post_api_key(
        system.admin_headers, name="reader", scopes=["objectives:read", "kpis:read"]
    )
    key = created.json()["key"]
    for path in ("/api/v1/objectives", "/api/v1/kpis", "/api/v1/objectives/stats/summary"):
        assert (await _call(system, "GET", path, key)).status_code == 200, path


async def _call(system: RunningSystem, method: str, path: str, key: str) -> Any:
    return await system.client.request(
        method, concrete(path), headers={"Authorization": f"Bearer {key}"}
    )
