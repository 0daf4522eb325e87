"""Fixtures of the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from tests.support.system import RunningSystem


@pytest.fixture
async def hr(system: RunningSystem) -> AsyncIterator[JetStreamContext]:
    """JetStream, as an HR system publishing values sees it."""
    client = await nats.connect(system.nats_url)
    yield client.jetstream()
    await client.close()
