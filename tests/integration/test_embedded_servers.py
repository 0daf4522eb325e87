"""The suite's own servers start wherever a new user clones okr, and the Docker switch falls
back as the README says."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

import asyncpg
import nats
import psutil
import pytest

from okr_shared.db import libpq_url
from okr_shared.embedded import as_root
from tests.support import infra


async def _answers(found: infra.Servers) -> str:
    """Both servers answer; the name of the user PostgreSQL's backend runs as."""
    client = await nats.connect(found.nats_url)
    await client.flush()
    await client.close()
    connection = await asyncpg.connect(libpq_url(found.postgres_url))
    try:
        pid = await connection.fetchval("SELECT pg_backend_pid()")
        return str(psutil.Process(pid).username())
    finally:
        await connection.close()


def _modes(paths: list[Path]) -> dict[Path, int]:
    return {path: stat.S_IMODE(path.stat().st_mode) for path in paths}


@pytest.mark.skipif(os.geteuid() != 0, reason="the folder only root may enter needs root")
def test_servers_start_in_a_folder_only_root_may_enter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("OKR_NATS_URL", "OKR_DATABASE_URL", "OKR_TEST_DOCKER"):
        monkeypatch.delenv(name, raising=False)
    private = Path(tempfile.mkdtemp(prefix="okr-private-"))  # 0700, like `mktemp -d`
    clone = private / "home" / "okr"
    clone.mkdir(mode=0o700, parents=True)
    around = [clone, clone.parent, private, *private.parents]
    before = _modes(around)
    try:
        with infra.servers(clone / "servers") as found:
            assert asyncio.run(_answers(found)) == as_root.SYSTEM_USER
        link = clone / "servers" / "postgres"
        cluster = Path(os.readlink(link))
        assert cluster.parent == as_root.RUNTIME_DIR / "clusters"
        assert (cluster / "PG_VERSION").exists()
        assert _modes(around) == before, "a folder outside the clone changed its mode"
    finally:
        shutil.rmtree(private)
    # Its folder gone, the cluster is an orphan that the next start removes.
    as_root.remove_orphans(cluster.parent)
    assert not cluster.exists()
    assert not cluster.with_suffix(".owner").exists()


def test_docker_switch_falls_back_to_the_embedded_servers_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("OKR_NATS_URL", "OKR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OKR_TEST_DOCKER", "1")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    assert not infra.docker_answers()
    with contextlib.ExitStack() as stack:
        with pytest.warns(infra.DockerFallbackWarning, match="no Docker engine answers"):
            found = stack.enter_context(infra.servers(tmp_path / "servers"))
        asyncio.run(_answers(found))
        assert found.postgres_url.startswith("postgresql://okr:")
