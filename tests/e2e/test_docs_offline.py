"""The docs pages work on a machine without internet: in Chromium with every request to any host
but the gateway's aborted (and recorded, so that a CDN reference cannot hide behind a page that
happens to render), Swagger UI lists the API, signs in through its Authorize dialog and calls an
authenticated route, and the AsyncAPI page shows the NATS channels in its sandbox."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Locator, Page, Route, async_playwright, expect

from okr_shared import subjects
from tests.support.browser import Gateway
from tests.support.system import RunningSystem

GATEWAY_HOST = "127.0.0.1"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class Offline:
    """What the page tried to reach beyond the gateway, and what went wrong in it."""

    attempted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # console errors, CSP refusals included

    def __str__(self) -> str:
        return f"requests beyond the gateway: {self.attempted}; errors in the page: {self.problems}"


async def test_swagger_ui_lists_the_api_and_signs_in_through_authorize(
    system: RunningSystem, chromium: Path, gateway: Gateway
) -> None:
    password = secrets.token_urlsafe(12)
    user, _ = await system.user("employee", department="Docs", password=password)

    async with _offline(chromium) as page:
        await page.goto(f"{gateway.url}/docs")
        login = _operation(page, "post", "/api/v1/auth/login")
        listing = _operation(page, "get", "/api/v1/objectives")
        await expect(login).to_be_visible(timeout=15_000)
        await expect(listing).to_be_visible()

        await _authorize(page, user["username"], password)

        await listing.locator(".opblock-summary").click()
        await listing.locator(".try-out__btn").click()
        await listing.locator(".execute").click()
        status = listing.locator(".live-responses-table .response .response-col_status")
        await expect(status).to_have_text("200", timeout=10_000)
        body = listing.locator(".live-responses-table .response .response-col_description")
        await expect(body).to_contain_text('"items"')
        await _screenshot(page, "docs.png")


async def test_the_asyncapi_page_shows_the_channels_in_its_sandbox(
    system: RunningSystem, chromium: Path, gateway: Gateway
) -> None:
    async with _offline(chromium) as page:
        await page.goto(f"{gateway.url}/asyncapi")
        channel = page.get_by_text(subjects.KPI_VALUE_ADDRESS, exact=True).first
        await expect(channel).to_be_visible(timeout=15_000)
        await expect(page.get_by_text(subjects.KPI_VALUE_BATCH, exact=True).first).to_be_visible()
        # The sandbox: an origin of its own, so nothing here reads the gateway's storage.
        assert await page.evaluate("window.origin") == "null"
        await _screenshot(page, "asyncapi.png")


def _operation(page: Page, method: str, path: str) -> Locator:
    return page.locator(
        f".opblock.opblock-{method}",
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]'),
    )


async def _authorize(page: Page, username: str, password: str) -> None:
    await page.locator(".scheme-container .btn.authorize").click()
    dialog = page.locator(".modal-ux")
    await dialog.locator("#oauth_username").fill(username)
    await dialog.locator("#oauth_password").fill(password)
    await dialog.locator(".auth-btn-wrapper .btn.authorize").click()
    # Signed in, the dialog offers to log out; a refused login shows an error instead.
    await expect(dialog.locator(".auth-btn-wrapper .btn.authorize")).to_have_text("Logout")
    await dialog.locator(".btn-done").click()


async def _screenshot(page: Page, name: str) -> None:
    """For a person to look at, in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name))


@contextlib.asynccontextmanager
async def _offline(chromium: Path) -> AsyncIterator[Page]:
    """A page whose requests reach the gateway only."""
    offline = Offline()

    async def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == GATEWAY_HOST:
            await route.continue_()
        else:
            offline.attempted.append(route.request.url)
            await route.abort("blockedbyclient")

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.route("**/*", guard)
            page.on("pageerror", lambda error: offline.problems.append(str(error)))
            page.on(
                "console",
                lambda message: (
                    offline.problems.append(message.text) if message.type == "error" else None
                ),
            )
            try:
                yield page
            except AssertionError as failed:
                failed.add_note(str(offline))  # the likeliest why: a page waiting for a CDN
                raise
            assert offline.attempted == offline.problems == [], str(offline)
        finally:
            await browser.close()
