from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from okr_gateway import integration_repository, service
from okr_gateway.deps import (
    AdminUser,
    ObjectivesRead,
    OriginDep,
    ReaderDep,
    ServicesDep,
    SessionDep,
    StateDep,
    actor,
)
from okr_gateway.schemas import UserCreate, UserNames, UserResponse, UserUpdate
from okr_shared.contracts import objective_rpc
from okr_shared.contracts.common import Page, Role
from okr_shared.contracts.fields import Department, Id, Offset
from okr_shared.contracts.objective_rpc import VisibleOwners
from okr_shared.errors import Conflict, Forbidden

UserId = Annotated[Id, Path(description="the user's id")]
MAX_NAMES = 500  # ids per request; the dashboard asks in slices

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.post("", status_code=201, response_model=UserResponse, summary="Create a user (admin)")
async def create_user(
    data: UserCreate,
    _: AdminUser,
    origin: OriginDep,
    gateway: StateDep,
    db: SessionDep,
    response: Response,
) -> UserResponse:
    user = await service.create_user(db, data, gateway.sign_in.passwords, origin)
    await db.commit()
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserResponse.model_validate(user)


@router.get("", response_model=Page[UserResponse], summary="List users (admin)")
async def list_users(
    _: AdminUser,
    db: SessionDep,
    role: Role | None = None,
    department: Department | None = None,
    is_active: bool | None = None,
    skip: Annotated[Offset, Query()] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[UserResponse]:
    filters = {
        "role": role.value if role else None,
        "department": department,
        "is_active": is_active,
    }
    users, total = await service.list_users(db, filters, skip, limit)
    return Page(
        items=[UserResponse.model_validate(u) for u in users], total=total, skip=skip, limit=limit
    )


@router.get(
    "/names",
    summary="Display names of the owners of objectives you may see (an admin: of anyone)",
)
async def user_names(
    user: ObjectivesRead,
    db: ReaderDep,
    rpc_: ServicesDep,
    user_id: Annotated[list[Id], Query(alias="id", min_length=1, max_length=MAX_NAMES)],
) -> UserNames:
    """Only the name (full name, else username), as an OKR tree shows owners to everyone who
    may see their objectives: yours, and those of the owners of objectives in your view (an
    admin: everyone's). Any other id, or one that names no user, is left out. The integration
    role sees no objectives, so no names."""
    if user.role == Role.INTEGRATION.value:
        raise Forbidden("the integration role has no access to objectives, nor to their owners")
    if user.role != Role.ADMIN.value:
        others = sorted(set(user_id) - {user.id})
        request = VisibleOwners(actor=actor(user), user_ids=others)
        owners = await rpc_.ask(objective_rpc.OWNERS, request)
        user_id = [user.id, *owners] if user.id in user_id else owners
    return UserNames(names=await service.display_names(db, user_id) if user_id else {})


@router.get("/{user_id}", response_model=UserResponse, summary="One user (admin)")
async def get_user(user_id: UserId, _: AdminUser, db: SessionDep) -> UserResponse:
    return UserResponse.model_validate(await service.get_user(db, user_id))


@router.put(
    "/{user_id}",
    response_model=UserResponse,
    summary="Change a user (admin); every field optional",
    description="A new password or a deactivation ends the user's tokens; a deactivation "
    "also revokes their API keys.",
)
async def update_user(
    user_id: UserId,
    data: UserUpdate,
    admin: AdminUser,
    origin: OriginDep,
    gateway: StateDep,
    db: SessionDep,
) -> UserResponse:
    await _not_an_integrations(db, user_id)
    user = await service.update_user(db, admin, user_id, data, gateway.sign_in.passwords, origin)
    await db.commit()
    return UserResponse.model_validate(user)


@router.delete(
    "/{user_id}",
    status_code=204,
    summary="Deactivate a user (admin): ends their tokens and revokes their API keys",
)
async def deactivate_user(
    user_id: UserId, admin: AdminUser, origin: OriginDep, db: SessionDep
) -> Response:
    await _not_an_integrations(db, user_id)
    await service.deactivate_user(db, admin, user_id, origin)
    await db.commit()
    return Response(status_code=204)


async def _not_an_integrations(db: SessionDep, user_id: int) -> None:
    """An integration's user is changed only through the integration: a password would let it
    sign in and mint keys, and a deactivation here would leave its NATS connections open."""
    integration = await integration_repository.by_user(db, user_id)
    if integration is not None:
        raise Conflict(
            f"user {user_id} is integration {integration.id}'s ({integration.name}); "
            f"revoke it with DELETE /api/v1/integrations/{integration.id}"
        )
