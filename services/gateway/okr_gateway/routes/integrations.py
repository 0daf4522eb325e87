"""`/api/v1/integrations`: an identity per system that sends KPI values (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from okr_gateway import integrations
from okr_gateway.deps import (
    AdminUser,
    IntegrationAccessDep,
    OriginDep,
    ServicesDep,
    SessionDep,
    actor,
)
from okr_gateway.integration_schemas import (
    IntegrationCreate,
    IntegrationCreated,
    IntegrationResponse,
    IntegrationRevoked,
)
from okr_gateway.models import User
from okr_gateway.nats_access import nats_username
from okr_shared import subjects as s
from okr_shared.contracts import kpi_rpc
from okr_shared.contracts.fields import Id
from okr_shared.contracts.kpi_rpc import SourceStatsRequest
from okr_shared.contracts.kpis import SourceStats
from okr_shared.errors import Unavailable

IntegrationId = Annotated[Id, Path(description="the integration's id")]
router = APIRouter(prefix="/api/v1/integrations", tags=["integrations"])


@router.post(
    "",
    status_code=201,
    response_model=IntegrationCreated,
    summary="Create an integration: its NATS URL (and key) are shown once (admin)",
)
async def create_integration(
    data: IntegrationCreate,
    admin: AdminUser,
    origin: OriginDep,
    db: SessionDep,
    access: IntegrationAccessDep,
    response: Response,
) -> IntegrationCreated:
    integration, password, api_key = await integrations.create(db, admin, data, origin)
    await db.commit()
    response.headers["Location"] = f"/api/v1/integrations/{integration.id}"
    response.headers["Cache-Control"] = "no-store"  # it holds secrets
    return integrations.created(integration, password, access.public_url, api_key)


@router.get("", response_model=list[IntegrationResponse], summary="Every integration (admin)")
async def list_integrations(
    admin: AdminUser, db: SessionDep, rpc_: ServicesDep
) -> list[IntegrationResponse]:
    found = await integrations.list_all(db)
    stats = await _stats(rpc_, admin, [i.id for i in found])
    return [integrations.view(i, stats.get(s.integration_source(i.id))) for i in found]


@router.get(
    "/{integration_id}",
    response_model=IntegrationResponse,
    summary="One integration: when it last connected and published, values sent and refused",
)
async def get_integration(
    integration_id: IntegrationId, admin: AdminUser, db: SessionDep, rpc_: ServicesDep
) -> IntegrationResponse:
    integration = await integrations.get(db, integration_id)
    stats = await _stats(rpc_, admin, [integration.id])
    return integrations.view(integration, stats.get(s.integration_source(integration.id)))


@router.delete(
    "/{integration_id}",
    response_model=IntegrationRevoked,
    summary="Revoke an integration: its NATS connections are closed, its keys refused (admin)",
)
async def revoke_integration(
    integration_id: IntegrationId, _: AdminUser, db: SessionDep, access: IntegrationAccessDep
) -> IntegrationRevoked:
    """Repeating it is harmless, and closes whatever connection it still finds."""
    integration = await integrations.revoke(db, integration_id)
    await db.commit()
    assert integration.revoked_at is not None
    try:
        closed = await access.system.disconnect_user(nats_username(integration.id))
    except Exception as err:
        raise Unavailable(
            f"integration {integration.id} is revoked (no new connection is let in), but its "
            f"open NATS connections could not be closed ({err or type(err).__name__}); "
            "repeat the DELETE"
        ) from err
    return IntegrationRevoked(
        id=integration.id, revoked_at=integration.revoked_at, connections_closed=closed
    )


async def _stats(rpc_: ServicesDep, admin: User, ids: list[int]) -> dict[str, SourceStats]:
    stats: dict[str, SourceStats] = {}
    for start in range(0, len(ids), 500):  # the request's limit
        sources = [s.integration_source(i) for i in ids[start : start + 500]]
        request = SourceStatsRequest(actor=actor(admin), sources=sources)
        found = await rpc_.ask(kpi_rpc.SOURCES, request)
        stats.update((one.source, one) for one in found)
    return stats
