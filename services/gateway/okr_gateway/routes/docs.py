"""`/docs` (Swagger UI) and the files of the docs pages' viewers, served by the gateway itself:
on a machine without internet a page that loads its viewer from a CDN stays blank.

The viewers are kept in `okr_gateway/docs_assets/` (its README says which versions and how to
update them). `/redoc` is off: a third viewer of the same document is not worth shipping."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from okr_gateway.viewer_assets import ASSETS_PATH

SWAGGER_JS = f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js"
SWAGGER_CSS = f"{ASSETS_PATH}/swagger-ui/swagger-ui.css"
SWAGGER_FAVICON = f"{ASSETS_PATH}/swagger-ui/favicon-32x32.png"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    app = request.app
    page = get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title} - Swagger UI",
        swagger_js_url=SWAGGER_JS,
        swagger_css_url=SWAGGER_CSS,
        swagger_favicon_url=SWAGGER_FAVICON,
    )
    page.headers["Content-Security-Policy"] = _policy(bytes(page.body).decode())
    return page


def _policy(page: str) -> str:
    """Scripts from the gateway only, and the page's own inline start-up script by its hash: a
    script from anywhere else, a CDN included, is refused. The page is on the gateway's origin,
    where "Try it out" calls the API."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
