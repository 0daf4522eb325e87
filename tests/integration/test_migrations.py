"""Each service's migrations produce exactly the tables its models describe."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection

from okr_gateway.models import Base as GatewayBase
from okr_kpis.models import Base as KpisBase
from okr_objectives.models import Base as ObjectivesBase
from okr_progress.models import Base as ProgressBase
from okr_shared.db import make_engine
from okr_webhooks.models import Base as WebhooksBase


def differences(connection: Connection, metadata: MetaData) -> list[Any]:
    schema = metadata.schema
    context = MigrationContext.configure(
        connection,
        opts={
            "include_schemas": True,
            "include_name": lambda name, kind, _parents: (
                name == schema if kind == "schema" else name != "alembic_version"
            ),
            "compare_type": True,
        },
    )
    return list(compare_metadata(context, metadata))


@pytest.mark.parametrize(
    "base", [GatewayBase, ObjectivesBase, KpisBase, ProgressBase, WebhooksBase]
)
async def test_models_match_the_migrated_schema(database_url: str, base: Any) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(differences, base.metadata)
    finally:
        await engine.dispose()
    assert found == []
