"""`/asyncapi.json` and `/asyncapi`: the NATS contracts of the whole system, public like
`/docs` and `/openapi.json` (they describe message shapes, no data)."""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from okr_gateway.asyncapi import SystemDocument
from okr_gateway.viewer_assets import ASSETS_PATH

VIEWER = f"{ASSETS_PATH}/asyncapi-react"
# Sandboxed, the page has an opaque origin of its own, so its scripts (the viewer runs the
# document through a JSON-schema compiler, hence 'unsafe-eval') cannot read what the dashboard
# keeps on the gateway's origin (a user's token). 'self' still means the URL the page came from,
# so the viewer's files load from the gateway, and from nowhere else.
POLICY = (
    "sandbox allow-scripts; default-src 'none'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)

router = APIRouter(tags=["docs"])


def _document(request: Request) -> SystemDocument:
    found: SystemDocument = request.app.state.asyncapi
    return found


@router.get("/asyncapi.json", include_in_schema=False)
async def asyncapi_json(request: Request) -> dict[str, Any]:
    return await _document(request).get()


@router.get("/asyncapi", include_in_schema=False, response_class=HTMLResponse)
async def asyncapi_html(request: Request) -> HTMLResponse:
    document = await _document(request).get()
    return HTMLResponse(page(document), headers={"Content-Security-Policy": POLICY})


def page(document: dict[str, Any]) -> str:
    """The viewer and the document inlined as a data block (no "try it" plugin: it would post
    to an endpoint the gateway does not have)."""
    title = html.escape(f"{document['info']['title']} AsyncAPI")
    # Inside <script> only "</script" and "<!--" could end or bend the block: no "<" at all.
    data = json.dumps(document).replace("<", "\\u003c").replace(">", "\\u003e")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{VIEWER}/default.min.css">
<link rel="stylesheet" href="{ASSETS_PATH}/asyncapi-page.css">
</head>
<body>
<div id="asyncapi"></div>
<script type="application/json" id="asyncapi-document">{data}</script>
<script src="{VIEWER}/index.js"></script>
<script src="{ASSETS_PATH}/asyncapi-start.js"></script>
</body>
</html>
"""
