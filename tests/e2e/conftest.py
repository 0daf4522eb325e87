"""What the end-to-end tests share: a NATS server and a database of their own (so that no
service of the session's in-process system can step in), and service processes to kill."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def start(
    module: str, nats_url: str, database_url: str, log: Path, *, failpoints: str = ""
) -> subprocess.Popen[bytes]:
    """`failpoints` arms okr_shared.failpoints in the process: it SIGKILLs itself there."""
    env = {
        **os.environ,
        "OKR_NATS_URL": nats_url,
        "OKR_DATABASE_URL": database_url,
        "OKR_INSTANCE": f"{module}-crash",
        "OKR_FAILPOINTS": failpoints,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], env=env, stdout=out, stderr=subprocess.STDOUT
        )
