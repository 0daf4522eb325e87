"""Least privilege in PostgreSQL: each service connects as a login role of its own, which may
read and write the tables of its own schema and nothing else. Migrations run as the owner (the
role that creates the tables) and grant the service's role what it needs, so a leaked service
password exposes one schema, and no service can change another's data or any table's shape.

Roles are named `<database>_<service>` (`okr_kpis`): roles belong to the whole PostgreSQL
server, and two databases on one server (the tests make one per session) must not share them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import text
from sqlalchemy.engine import Connection

SCRAM_ITERATIONS = 4096  # PostgreSQL's own default for scram-sha-256


@dataclass(frozen=True)
class ServiceRole:
    name: str
    password: str

    def __repr__(self) -> str:  # never a password in a log or a traceback
        return f"ServiceRole({self.name!r})"


def role_name(database_url: str, service: str) -> str:
    database = urlsplit(database_url).path.lstrip("/")
    name = f"{database}_{service}"
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(
            f"database {database!r}: its service roles would be named {name!r}; use a "
            "database name of lower-case letters, digits and _ (up to 50 characters)"
        )
    return name


def service_url(owner_url: str, role: ServiceRole) -> str:
    """The owner's URL with the service role's credentials instead."""
    parts = urlsplit(owner_url)
    host = parts.netloc.rpartition("@")[2]
    credentials = f"{quote(role.name, safe='')}:{quote(role.password, safe='')}"
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


def grant_schema(connection: Connection, schema: str, role: ServiceRole) -> None:
    """Create or update `role` and let it use `schema`'s tables, in the owner's transaction.

    The password is sent as a SCRAM verifier, so the clear text never reaches the server (nor a
    server log that records statements)."""
    name = _identifier(role.name)
    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :name"), {"name": role.name}
    ).scalar()
    verb = "ALTER" if exists else "CREATE"
    verifier = scram_verifier(role.password).replace("'", "''")
    # As the driver's own SQL: text() would read the verifier's `:` as a bind parameter.
    connection.exec_driver_sql(f"{verb} ROLE {name} LOGIN PASSWORD '{verifier}'")
    quoted = _identifier(schema)
    for statement in (
        f"GRANT USAGE ON SCHEMA {quoted} TO {name}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {quoted} TO {name}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {quoted} TO {name}",
        # Alembic's record of the schema's revision is the owner's alone to change.
        f"REVOKE INSERT, UPDATE, DELETE ON {quoted}.alembic_version FROM {name}",
        # Tables and sequences a later migration creates are granted in that same migration run,
        # since `ALL TABLES` above runs after every migration; no default privileges needed.
    ):
        connection.execute(text(statement))


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """`SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, as PostgreSQL stores it."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


__all__ = ["ServiceRole", "grant_schema", "role_name", "scram_verifier", "service_url"]
