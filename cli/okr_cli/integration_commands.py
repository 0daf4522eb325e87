"""`okr integrations`: an identity per system that sends KPI values, managed through the
gateway's REST API as the admin (`/api/v1/integrations`)."""

from __future__ import annotations

from typing import Any

import httpx
import typer
from rich.table import Table

from okr_cli.config import CliSettings
from okr_cli.supervisor import read_run_info
from okr_cli.ui import app, console, fail
from okr_shared.nats_callout import account_public_key, new_account_seed
from okr_shared.settings import load_settings

integrations = typer.Typer(
    help="An identity per system that sends KPI values: NATS credentials of its own, its "
    "values and refusals counted, revocable alone.",
    no_args_is_help=True,
)
app.add_typer(integrations, name="integrations")

GATEWAY = typer.Option(None, "--gateway", help="The gateway's URL (default: the running okr up's).")
SCOPES = ("values:write", "kpis:read")


@integrations.command("create")
def create(
    name: str = typer.Argument(..., help="2-38 letters, digits, '.', '_' or '-'."),
    scope: list[str] = typer.Option(
        list(SCOPES), "--scope", help=f"What its API key may do: {', '.join(SCOPES)}."
    ),
    gateway: str | None = GATEWAY,
) -> None:
    """Create an integration and print its NATS URL (and API key) once."""
    made = _call("POST", "/api/v1/integrations", gateway, json={"name": name, "scopes": scope})
    console.print(f"created integration {made['id']} ({made['name']})")
    console.print(f"  nats_url        {made['nats_url']}")
    console.print(f"  inbox_prefix    {made['inbox_prefix']}   (its client must take replies here)")
    console.print(
        f"  subject_prefix  {made['subject_prefix']}   (<prefix>.<kpi_id>, <prefix>.batch)"
    )
    if made.get("api_key"):
        console.print(f"  api_key         {made['api_key']}")
    console.print(
        "[yellow]Store these now: okr keeps only their hashes and will not show them again."
        "[/yellow] docs/HR_INTEGRATION.md shows how to connect."
    )


@integrations.command("list")
def list_(gateway: str | None = GATEWAY) -> None:
    """Every integration, with when it last connected and what it sent."""
    table = Table("id", "name", "state", "last connected", "last published", "sent", "refused")
    for one in _call("GET", "/api/v1/integrations", gateway):
        table.add_row(
            str(one["id"]),
            one["name"],
            "revoked" if one["revoked_at"] else "active",
            _when(one["last_connected_at"]),
            _when(one["last_published_at"]),
            str(one["values_sent"]),
            str(one["values_refused"]),
        )
    console.print(table)


@integrations.command("show")
def show(integration_id: int = typer.Argument(..., min=1), gateway: str | None = GATEWAY) -> None:
    """One integration: its subjects, when it last connected and published, its counts."""
    one = _call("GET", f"/api/v1/integrations/{integration_id}", gateway)
    for key, value in one.items():
        console.print(f"  {key:<18}{'-' if value is None else value}")


@integrations.command("revoke")
def revoke(integration_id: int = typer.Argument(..., min=1), gateway: str | None = GATEWAY) -> None:
    """Revoke an integration: its open NATS connections are closed, no new one is let in."""
    done = _call("DELETE", f"/api/v1/integrations/{integration_id}", gateway)
    console.print(
        f"revoked integration {done['id']} at {done['revoked_at']}; "
        f"closed {done['connections_closed']} open NATS connection(s)"
    )


@integrations.command("keygen")
def keygen() -> None:
    """A new account nkey pair for compose's .env: the gateway signs integrations' NATS logins
    with the seed, the NATS servers trust its public key."""
    seed = new_account_seed()
    console.print(f"OKR_NATS_CALLOUT_SEED={seed}")
    console.print(f"OKR_NATS_CALLOUT_ISSUER={account_public_key(seed)}")


def _call(method: str, path: str, gateway: str | None, json: Any = None) -> Any:
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
                method, path, json=json, headers={"Authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as err:
        raise fail(f"the gateway at {base} did not answer ({err}); is okr up running?") from None
    _check(response, f"{method} {path}")
    return response.json()


def _admin_password(settings: CliSettings) -> str:
    if settings.admin_password:
        return settings.admin_password.get_secret_value()
    kept = settings.data_path / "admin-password"
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


def _when(moment: str | None) -> str:
    return moment[:19].replace("T", " ") if moment else "-"
