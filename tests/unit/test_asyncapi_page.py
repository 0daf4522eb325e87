"""The /asyncapi page inlines the document in a data block: nothing in it may end the block."""

from __future__ import annotations

import json

from okr_gateway.routes.asyncapi import page

HOSTILE = "</script><script>alert(1)</script><!-- <script>"


def test_a_description_stays_data_whatever_it_holds() -> None:
    document = {"info": {"title": f"okr {HOSTILE}", "description": HOSTILE}, "channels": {}}
    html = page(document)
    opening = '<script type="application/json" id="asyncapi-document">'
    block = html.split(opening, 1)[1].split("</script>", 1)[0]
    assert json.loads(block) == document
    assert "<title>okr &lt;/script&gt;" in html
    assert html.count("<script") == 3  # the data block, the viewer, its start-up file
