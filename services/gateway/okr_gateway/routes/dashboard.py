"""`GET /`: the dashboard, a static web app (HTML, CSS and JavaScript modules, no build step).

The files are public because they hold no data: every data call the app makes goes to the
authenticated API with the caller's bearer token. A strict Content-Security-Policy keeps any
script but these files out, so a title that slipped into markup could not run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from okr_shared.errors import NotFound

STATIC = Path(__file__).resolve().parent.parent / "dashboard"
ASSET_NAME = re.compile(r"[a-z][a-z0-9_-]{0,40}\.(?:js|css)")
MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",  # revalidate: a new gateway version ships new files
}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def dashboard() -> FileResponse:
    return _file(STATIC / "index.html")


@router.get("/dashboard/{name}")
async def asset(name: Annotated[str, PathParam(max_length=50)]) -> FileResponse:
    # Only plain names of files in the one directory: no path can reach anything else.
    if not ASSET_NAME.fullmatch(name) or not (STATIC / name).is_file():
        raise NotFound(f"no dashboard file {name!r}")
    return _file(STATIC / name)


def _file(path: Path) -> FileResponse:
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=HEADERS)
