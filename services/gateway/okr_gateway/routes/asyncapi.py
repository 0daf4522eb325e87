"""`/asyncapi.json` and `/asyncapi`: the NATS contracts of the whole system, public like
`/docs` and `/openapi.json` (they describe message shapes, no data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from faststream.specification import get_asyncapi_html

from okr_gateway.asyncapi import Rendered, SystemDocument

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
    # No "try it" plugin: it would post to an endpoint the gateway does not have.
    page = get_asyncapi_html(Rendered(document), try_it_out_path=None)
    # The viewer's scripts come from a CDN. Sandboxed, the page has an origin of its own, so
    # they cannot read what the dashboard keeps on the gateway's (a user's token).
    return HTMLResponse(page, headers={"Content-Security-Policy": "sandbox allow-scripts"})
