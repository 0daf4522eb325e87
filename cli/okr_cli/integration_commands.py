"""`okr integrations`: an identity per system that sends KPI values, managed through the
gateway's REST API as the admin (`/api/v1/integrations`)."""

from __future__ import annotations

import typer
from rich.table import Table

from okr_cli import admin_api
from okr_cli.admin_api import GATEWAY
from okr_cli.ui import app, console
from okr_shared.nats_callout import account_public_key, new_account_seed

integrations = typer.Typer(
    help="An identity per system that sends KPI values: NATS credentials of its own, its "
    "values and refusals counted, revocable alone.",
    no_args_is_help=True,
)
app.add_typer(integrations, name="integrations")

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
    made = admin_api.call(
        "POST", "/api/v1/integrations", gateway, json={"name": name, "scopes": scope}
    )
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
    for one in admin_api.call("GET", "/api/v1/integrations", gateway):
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
    one = admin_api.call("GET", f"/api/v1/integrations/{integration_id}", gateway)
    for key, value in one.items():
        console.print(f"  {key:<18}{'-' if value is None else value}")


@integrations.command("revoke")
def revoke(integration_id: int = typer.Argument(..., min=1), gateway: str | None = GATEWAY) -> None:
    """Revoke an integration: its open NATS connections are closed, no new one is let in."""
    done = admin_api.call("DELETE", f"/api/v1/integrations/{integration_id}", gateway)
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


def _when(moment: str | None) -> str:
    return moment[:19].replace("T", " ") if moment else "-"
