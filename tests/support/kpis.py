"""KPI helpers the tests share."""

from __future__ import annotations

from typing import Any

from tests.support.system import RunningSystem

Json = dict[str, Any]


async def make_kpi(
    system: RunningSystem, headers: dict[str, str] | None = None, **body: Any
) -> Json:
    body = {"title": "Revenue", "target_value": 100, "year": 2026, **body}
    response = await system.client.post(
        "/api/v1/kpis", json=body, headers=headers or system.admin_headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def kpi(system: RunningSystem, kpi_id: int) -> Json:
    return (await system.client.get(f"/api/v1/kpis/{kpi_id}", headers=system.admin_headers)).json()


async def history(system: RunningSystem, kpi_id: int) -> list[Json]:
    response = await system.client.get(
        f"/api/v1/kpis/{kpi_id}/values", headers=system.admin_headers
    )
    return list(response.json())
