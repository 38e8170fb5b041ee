"""Serving a tiles folder over HTTP: static files with gzip and cache headers, mounted by the app at ``/tiles/3d``.

Caching: a tileset names each content with ``?v=<key>`` (the key changes whenever the tile does), so a glb asked for
with ``v`` is immutable for a year; ``tileset.json`` and anything asked for without ``v`` must be revalidated
(``no-cache``: the ETag/Last-Modified that StaticFiles sends make that a cheap 304). glb and JSON are sent with
gzip, which shrinks them several times over.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import JSONResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["tiles_static_app"]

mimetypes.add_type("model/gltf-binary", ".glb")

IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"


class _TilesFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = StaticFiles(directory=directory, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if not self.directory.is_dir():
            response = JSONResponse(
                {"code": "NotFound", "description": "no 3D tiles have been built yet: run 'planning tiles build'"},
                status_code=404,
            )
            await response(scope, receive, send)
            return
        if any(part.startswith(".") for part in path.split("/")):  # lock and temporary files
            await JSONResponse({"code": "NotFound", "description": "not found"}, status_code=404)(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        immutable = path.endswith(".glb") and (query.startswith(b"v=") or b"&v=" in query)

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", IMMUTABLE if immutable else REVALIDATE))
                headers.append((b"access-control-allow-origin", b"*"))
                message = {**message, "headers": headers}
            await send(message)

        await self.files(scope, receive, send_with_cache)


def tiles_static_app(directory: Path) -> ASGIApp:
    """An ASGI app serving ``directory`` (it may not exist yet) with gzip and cache headers."""
    return GZipMiddleware(_TilesFiles(Path(directory)), minimum_size=512)
