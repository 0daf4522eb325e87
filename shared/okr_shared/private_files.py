"""Secrets kept in files under the data dir: readable by their owner only, from the first byte,
and created once even when two processes start at the same moment."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

# Where a generated admin password is kept, in the data directory: the gateway writes it on
# the start that makes the admin; `okr up`, the demo and the CLI's admin commands read it.
ADMIN_PASSWORD_FILE = "admin-password"  # noqa: S105 - a file name, not a password


def write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    path.chmod(0o600)


def secret_file(path: Path, *, min_length: int = 32, make: Callable[[], str] | None = None) -> str:
    """The secret in `path`, made on first use (by `make`, else random URL-safe text). A file
    too short to be a real secret is an error to fix by hand (we will not silently replace a
    key that tokens or data depend on)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Written whole under a name of our own, then linked into place: a process starting at
        # the same moment (two gateway replicas) finds either no file or the whole secret.
        value = make() if make else secrets.token_urlsafe(max(min_length, 32))
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(draft, value)
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links: create-if-absent, then write
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as handle:
                    handle.write(value + "\n")
                return value
        else:
            return value
        finally:
            draft.unlink()
    value = path.read_text().strip()
    if len(value) < min_length:
        raise ValueError(
            f"{path} holds a secret shorter than {min_length} characters; "
            "delete it to make a new one"
        )
    return value


def redact_url(url: str) -> str:
    """`nats://user:secret@host` → `nats://user:***@host`, for logs."""
    return ",".join(_redact_one(one) for one in url.split(","))


def _redact_one(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not (sep and at and ":" in credentials):
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
