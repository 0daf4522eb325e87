"""The dashboard's files: public (they hold no data), under a strict Content-Security-Policy,
and nothing but the files themselves can be reached through them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.system import RunningSystem

STATIC = Path(__file__).resolve().parents[2] / "services/gateway/okr_gateway/dashboard"


async def test_the_page_and_its_modules_are_served_with_a_strict_policy(
    system: RunningSystem,
) -> None:
    page = await system.client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    for name in re.findall(r'/dashboard/([\w.-]+)"', page.text):
        asset = await system.client.get(f"/dashboard/{name}")
        assert asset.status_code == 200, name
        assert asset.headers["content-security-policy"] == policy
    module = await system.client.get("/dashboard/app.js")
    assert module.headers["content-type"].startswith("text/javascript")


@pytest.mark.parametrize(
    "path", ["/dashboard/nope.js", "/dashboard/..%2Fmain.py", "/dashboard/index.html"]
)
async def test_only_the_dashboard_files_can_be_fetched(system: RunningSystem, path: str) -> None:
    response = await system.client.get(path)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_no_script_puts_data_into_markup() -> None:
    """Titles are user input: they reach the page as text only."""
    for script in STATIC.glob("*.js"):
        source = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{script.name} uses {sink}"
