"""Serving a tiles folder over HTTP: static files with gzip and cache headers, mounted by the app at ``/tiles/3d``.

Caching: a content's file name carries the hash of its bytes (``t/14/3/5-<sha>.glb``, see :mod:`tiles.build`), so
such a glb never changes: cached for a year, ``immutable``, with that hash as its strong ETag. ``tileset.json`` (and
anything else) changes in place: ``no-cache``, with a strong ETag from the hash of its bytes, so revalidating is a
cheap 304. glb and JSON are sent with gzip, which shrinks them several times over.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from pathlib import Path

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["tiles_static_app"]

mimetypes.add_type("model/gltf-binary", ".glb")

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
CONTENT_NAME = re.compile(r"-([0-9a-f]{12})\.glb$")  # tiles.build.content_name


def _not_found(description: str) -> Response:
    return JSONResponse({"code": "NotFound", "description": description}, status_code=404)


class _TilesFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # ETags of files that change in place, by (path, inode, mtime, size): hashed once per version.
        self._etags: dict[str, tuple[tuple[int, int, int], str]] = {}

    def _etag(self, path: Path, stat: os.stat_result) -> str:
        named = CONTENT_NAME.search(path.name)
        if named:
            return f'"{named.group(1)}"'
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._etags.get(str(path))
        if cached and cached[0] == key:
            return cached[1]
        etag = f'"{hashlib.sha256(path.read_bytes()).hexdigest()[:32]}"'
        self._etags[str(path)] = (key, etag)
        return etag

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._response(scope)
        await response(scope, receive, send)

    def _response(self, scope: Scope) -> Response:
        if not self.directory.is_dir():
            return _not_found("no 3D tiles have been built yet: run 'planning tiles build'")
        path_in_app, root = str(scope.get("path", "")), str(scope.get("root_path", ""))
        if root and path_in_app.startswith(root + "/"):  # mounted: the path still carries the mount prefix
            path_in_app = path_in_app[len(root) :]
        rel = path_in_app.lstrip("/")
        parts = [p for p in rel.split("/") if p]
        if scope.get("method") not in ("GET", "HEAD"):
            return JSONResponse(
                {"code": "MethodNotAllowed", "description": "chỉ đọc (GET) / read only (GET)"},
                status_code=405,
                headers={"allow": "GET, HEAD"},
            )
        # Lock and temporary files start with a dot; '..' may not leave the folder.
        if not parts or any(p.startswith(".") for p in parts):
            return _not_found("not found")
        path = self.directory.joinpath(*parts)
        try:
            stat = path.stat()
        except OSError:
            return _not_found("not found")
        if not path.is_file():
            return _not_found("not found")
        etag = self._etag(path, stat)
        headers = {
            "etag": etag,
            "cache-control": IMMUTABLE if CONTENT_NAME.search(path.name) else REVALIDATE,
            "access-control-allow-origin": "*",
        }
        match = Headers(scope=scope).get("if-none-match", "")
        if etag in [t.strip().removeprefix("W/") for t in match.split(",")] or match.strip() == "*":
            return Response(status_code=304, headers=headers)
        return FileResponse(path, stat_result=stat, headers=headers)


def tiles_static_app(directory: Path) -> ASGIApp:
    """An ASGI app serving ``directory`` (it may not exist yet) with gzip and cache headers."""
    return GZipMiddleware(_TilesFiles(Path(directory)), minimum_size=512)
