"""``GET /ogc/conformance``: the classes of :data:`ogc.conformance.CONFORMANCE`, in place of pygeoapi's list."""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ogc.conformance import CONFORMANCE

__all__ = ["conformance_router"]


def conformance_router() -> APIRouter:
    """The conformance declaration (JSON, or HTML with ``f=html``)."""
    router = APIRouter(tags=["OGC API"])

    @router.get(
        "/ogc/conformance",
        summary="The OGC API conformance classes this service implements",
        responses={200: {"content": {"application/json": {}, "text/html": {}}}},
    )
    def conformance(f: Annotated[str, Query(pattern="^(json|html)$")] = "json") -> Response:
        if f == "html":
            items = "".join(f"<li><a href='{html.escape(c)}'>{html.escape(c)}</a></li>" for c in CONFORMANCE)
            return HTMLResponse(f"<!doctype html><title>Conformance</title><h1>Conformance</h1><ul>{items}</ul>")
        return JSONResponse({"conformsTo": list(CONFORMANCE)})

    return router
