"""The gateway's read model in tests: reached through the app, waited for until warm."""

from __future__ import annotations

from typing import Any

from okr_gateway.read_model.feed import ReadModel
from tests.support.system import RunningSystem, eventually


def read_model(system: RunningSystem) -> ReadModel:
    model: ReadModel = system.app.state.gateway.read_model
    return model


async def is_warm(app: Any) -> bool:
    return bool(app.state.gateway.read_model.warm)


async def warm(system: RunningSystem) -> None:
    await eventually(lambda: is_warm(system.app), timeout_s=30)
