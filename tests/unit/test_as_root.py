"""Where PostgreSQL's files live as root (okr_shared.embedded.as_root): the link from the data
dir, and a sweep that removes only what is surely nobody's. No server runs here: the folders
are made by hand, as a start would leave them."""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

import pytest

from okr_shared.embedded import EmbeddedServerError, as_root

ME = pwd.getpwuid(os.getuid())


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return tmp_path / "var-lib-okr"


def test_a_data_dir_links_to_its_cluster_and_finds_it_again(base: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "project" / ".okr" / "postgres"
    cluster = as_root.cluster_dir(data_dir, ME, base)
    assert data_dir.is_symlink() and Path(os.readlink(data_dir)) == cluster
    assert cluster.parent == base / "clusters" and cluster.is_dir()
    assert as_root.cluster_dir(data_dir, ME, base) == cluster
    assert cluster.with_suffix(".owner").read_text().strip() == str(data_dir)


def test_a_first_start_stopped_before_initdb_finished_starts_again(
    base: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "postgres"
    cluster = as_root.cluster_dir(data_dir, ME, base)
    cluster.rmdir()  # what an interrupted initdb leaves: the link, and no folder behind it
    assert as_root.cluster_dir(data_dir, ME, base) == cluster
    assert cluster.is_dir()


def test_a_folder_that_is_no_cluster_is_refused_with_a_reason(base: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "postgres"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("mine")
    with pytest.raises(EmbeddedServerError, match="holds no PostgreSQL cluster"):
        as_root.cluster_dir(data_dir, ME, base)


def test_the_sweep_removes_only_a_temporary_data_dirs_orphans(base: Path, tmp_path: Path) -> None:
    kept = as_root.cluster_dir(tmp_path / "kept" / "postgres", ME, base)
    orphan_dir = tmp_path / "deleted" / "postgres"
    orphan = as_root.cluster_dir(orphan_dir, ME, base)
    relinked_dir = tmp_path / "relinked" / "postgres"
    relinked = as_root.cluster_dir(relinked_dir, ME, base)
    running = as_root.cluster_dir(tmp_path / "running" / "postgres", ME, base)
    moved = as_root.cluster_dir(tmp_path / "moved" / "postgres", ME, base)
    half_written = base / "clusters" / "0000000000000000"
    half_written.mkdir()
    half_written.with_suffix(".owner").write_text("")

    shutil.rmtree(orphan_dir.parent)
    relinked_dir.unlink()
    relinked_dir.symlink_to(kept)
    shutil.rmtree(tmp_path / "running")
    (running / "postmaster.pid").write_text(f"{os.getpid()}\n")
    # A project moved away from where it was first started: not a temporary folder now.
    moved.with_suffix(".owner").write_text("/srv/okr-before-the-move/.okr/postgres\n")

    as_root.remove_orphans(base / "clusters")

    assert not orphan.exists() and not orphan.with_suffix(".owner").exists()
    assert not relinked.exists()
    for survivor in (kept, running, moved, half_written):
        assert survivor.is_dir(), survivor
