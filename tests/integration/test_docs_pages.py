"""The docs pages name no host: their viewers are files of the gateway (tests/e2e/
test_docs_offline.py shows them working in a browser cut off from everything else)."""

from __future__ import annotations

import re

import pytest

from tests.support.system import RunningSystem

ANY_HOST = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)
MEDIA_TYPES = {
    "js": ("text/javascript", "application/javascript"),
    "css": ("text/css",),
    "png": ("image/png",),
}


@pytest.mark.parametrize("path", ["/docs", "/asyncapi"])
async def test_a_docs_page_loads_its_viewer_from_the_gateway_only(
    system: RunningSystem, path: str
) -> None:
    page = await system.client.get(path)
    assert page.status_code == 200
    assert not ANY_HOST.search(page.text), ANY_HOST.findall(page.text)
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "'unsafe-inline'" not in policy
    for asset in re.findall(r'(?:src|href)="(/docs-assets/[^"]+)"', page.text):
        served = await system.client.get(asset)
        assert served.status_code == 200, asset
        # A sandboxed page loads them cross-origin: the browser wants the right types then.
        assert served.headers["content-type"].startswith(MEDIA_TYPES[asset.rsplit(".")[-1]])


async def test_the_asyncapi_page_is_sandboxed_away_from_the_gateways_origin(
    system: RunningSystem,
) -> None:
    policy = (await system.client.get("/asyncapi")).headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;")
    assert "allow-same-origin" not in policy


@pytest.mark.parametrize(
    "path", ["/redoc", "/docs-assets/nope.js", "/docs-assets/..%2Froutes%2Fdocs.py"]
)
async def test_nothing_else_is_served_there(system: RunningSystem, path: str) -> None:
    assert (await system.client.get(path)).status_code == 404
