"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from okr_shared.embedded import EmbeddedNats
from tests.support import infra
from tests.support.guarded import guarded_system
from tests.support.system import RunningSystem


@pytest.fixture
async def hr(system: RunningSystem) -> AsyncIterator[JetStreamContext]:
    """JetStream, as an HR system publishing values sees it."""
    client = await nats.connect(system.nats_url)
    yield client.jetstream()
    await client.close()


@pytest.fixture(scope="session")
async def guarded(
    servers: infra.Servers, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningSystem, EmbeddedNats]]:
    """A system of its own on a NATS server that lets in only okr's users and, through the
    gateway's auth callout, integrations (as `okr up` runs it)."""
    async with guarded_system(servers, tmp_path_factory.mktemp("guarded")) as running:
        yield running
