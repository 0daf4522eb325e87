"""The credentials in a NATS URL list, for every server of a cluster.

nats-py sends a URL's credentials only to that URL's server. The servers a cluster announces
(INFO `connect_urls`) join the client's pool without any, so a client that lost its node and
picked one of those was refused (Authorization Violation) mid-reconnect and stayed disconnected
for good. Given as connect options, the credentials go to every server it tries.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def split_credentials(nats_url: str) -> tuple[list[str], dict[str, str]]:
    """The URLs without credentials, and `{"user": ..., "password": ...}` from the first that
    has them (else {}), as nats-py reads them from a URL (not percent-decoded)."""
    servers: list[str] = []
    auth: dict[str, str] = {}
    for url in nats_url.split(","):
        parts = urlsplit(url.strip())
        if parts.username and parts.password and not auth:
            auth = {"user": parts.username, "password": parts.password}
        servers.append(parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl())
    return servers, auth
