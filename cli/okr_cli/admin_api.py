"""The gateway's REST API as the admin: how CLI commands that manage or read the running system
reach it, through the same public contract as any other client."""

from __future__ import annotations

from typing import Any

import httpx
import typer

from okr_cli.config import CliSettings
from okr_cli.supervisor import read_run_info
from okr_cli.ui import fail
from okr_shared.private_files import ADMIN_PASSWORD_FILE
from okr_shared.settings import load_settings

GATEWAY = typer.Option(None, "--gateway", help="The gateway's URL (default: the running okr up's).")


def call(
    method: str,
    path: str,
    gateway: str | None,
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> Any:
    """Sign in as the admin, make one request, and answer its JSON; a refusal ends the command
    with the gateway's reason."""
    settings = load_settings(CliSettings, "okr")
    base = gateway or read_run_info(settings.data_path).get("gateway_url")
    base = base or f"http://{settings.gateway_host}:{settings.gateway_port}"
    try:
        with httpx.Client(base_url=base, timeout=15) as client:
            login = client.post(
                "/api/v1/auth/login",
                data={"username": settings.admin_username, "password": _admin_password(settings)},
            )
            _check(login, "signing in as the admin")
            token = login.json()["access_token"]
            response = client.request(
                method,
                path,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
            )
    except httpx.HTTPError as err:
        raise fail(f"the gateway at {base} did not answer ({err}); is okr up running?") from None
    _check(response, f"{method} {path}")
    return response.json()


def _admin_password(settings: CliSettings) -> str:
    if settings.admin_password:
        return settings.admin_password.get_secret_value()
    kept = settings.data_path / ADMIN_PASSWORD_FILE
    if kept.exists():
        return kept.read_text().strip()
    raise fail(f"no admin password: set OKR_ADMIN_PASSWORD (none is kept in {kept})")


def _check(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise fail(f"{what}: {response.status_code} {detail}")
