from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from okr_gateway import __version__
from okr_gateway.deps import StateDep
from okr_shared.db import database_answers

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is alive")
async def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get(
    "/ready",
    summary="Started (the admin made), and NATS and the database reachable (503 otherwise)",
)
async def ready(gateway: StateDep) -> JSONResponse:
    checks = {
        "started": gateway.started,
        "nats": _nats_ok(gateway),
        "database": await _database_ok(gateway),
    }
    status = 200 if all(checks.values()) else 503
    body = {
        "status": "ready" if status == 200 else "not ready",
        "checks": checks,
        # Not a condition of readiness: until it is warm, reads ask the objectives service.
        "read_model": "warm" if gateway.read_model.warm else "warming",
    }
    return JSONResponse(body, status_code=status)


def _nats_ok(gateway: StateDep) -> bool:
    try:
        return bool(gateway.services.broker.connection.is_connected)
    except Exception:  # not connected yet: FastStream has no connection object
        return False


async def _database_ok(gateway: StateDep) -> bool:
    return await database_answers(gateway.engine)
