"""The files of the docs pages' viewers (Swagger UI, the AsyncAPI viewer), kept in
`okr_gateway/docs_assets/` and served by the gateway itself under ASSETS_PATH: on a machine
without internet a page that loads its viewer from a CDN stays blank."""

from __future__ import annotations

from pathlib import Path

from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).resolve().parent / "docs_assets"
ASSETS_PATH = "/docs-assets"


def assets() -> StaticFiles:
    """The viewers' files, for `app.mount(ASSETS_PATH, ...)`."""
    return StaticFiles(directory=ASSETS)
