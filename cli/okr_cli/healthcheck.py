"""`okr-healthcheck SERVICE`: is the service instance on this host ready? For container
healthchecks (compose.yaml), which run it every few seconds in every container.

Ready means what `okr status` means by it: the gateway answers 200 on `/ready` (NATS and the
database reachable); any other service answers the `rpc.ping` that every instance answers,
which it does only once its streams are declared and its consumers bound, and while its
database answers a `SELECT 1`. Of the answers, the one that counts comes from this host (a
container's own hostname) and, when OKR_INSTANCE is set, from that instance.

It reads its three variables from the environment directly instead of through CliSettings:
pydantic-settings and the CLI's imports cost 0.6 s of CPU a run, this module about 0.15 s
(`time python -c 'import okr_cli.config, okr_cli.probe'` against `import okr_cli.healthcheck`), and
a healthcheck runs every few seconds in every container.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import urllib.error
import urllib.request

import nats

from okr_shared.contracts.endpoint import REFUSED
from okr_shared.subjects import RPC_PING_ALL, SERVICE_INBOX_PREFIX

SERVICES = ("objectives", "kpis", "progress", "webhooks", "gateway")
WAIT_S = 3.0


def gateway_ready(port: str) -> str | None:
    """None if ready, else why not."""
    url = f"http://127.0.0.1:{port}/ready"
    try:
        with urllib.request.urlopen(url, timeout=WAIT_S) as response:
            status = int(response.status)
    except urllib.error.HTTPError as err:
        return f"{url} answered {err.code}"
    except (urllib.error.URLError, OSError) as err:
        return f"{url} did not answer: {err}"
    return None if status == 200 else f"{url} answered {status}"


async def instance_ready(nats_url: str, service: str, instance: str | None) -> str | None:
    async def quiet(_: Exception) -> None:
        pass

    try:
        client = await nats.connect(
            [url.strip() for url in nats_url.split(",")],
            connect_timeout=2,
            inbox_prefix=SERVICE_INBOX_PREFIX,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            error_cb=quiet,
        )
    except Exception as err:
        return f"cannot reach NATS: {err or type(err).__name__}"
    host = socket.gethostname()
    try:
        inbox = client.new_inbox()
        subscription = await client.subscribe(inbox)
        await client.publish(RPC_PING_ALL, b"{}", reply=inbox)
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                msg = await subscription.next_msg(timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            if REFUSED in (msg.headers or {}):  # not ready
                continue
            info = json.loads(msg.data)
            if (
                info.get("service") == service
                and info.get("host") == host
                and instance in (None, info.get("instance"))
            ):
                return None
    finally:
        await client.close()
    who = f"instance {instance}" if instance else f"an instance on {host}"
    return f"no ready {service} ({who}) answered {RPC_PING_ALL} within {WAIT_S:.0f} s"


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in SERVICES:
        print(f"usage: okr-healthcheck {{{','.join(SERVICES)}}}", file=sys.stderr)
        sys.exit(2)
    service = sys.argv[1]
    if service == "gateway":
        problem = gateway_ready(os.environ.get("OKR_GATEWAY_PORT", "8000"))
    else:
        nats_url = os.environ.get("OKR_NATS_URL", "nats://127.0.0.1:4222")
        problem = asyncio.run(instance_ready(nats_url, service, os.environ.get("OKR_INSTANCE")))
    if problem:
        print(f"{service} not ready: {problem}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
