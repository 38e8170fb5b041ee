"""The headers every answer carries: a strict Content-Security-Policy, no sniffing, no referrer beyond the origin.

:class:`SecurityHeaders` wraps the whole application (pygeoapi's mount included) and, on every answer:

* sets ``Content-Security-Policy``: scripts only from the service itself (the viewer's ES modules, the CesiumJS,
  MapLibre and Swagger UI builds, and ``blob:`` URLs, which only a script already running can make: CesiumJS's
  workers import them; no inline script, no ``eval``; WebAssembly for CesiumJS's decoders), workers from
  the service and ``blob:`` URLs (CesiumJS and MapLibre start their workers so), styles from the service and inline
  (CesiumJS writes style attributes and a ``<style>`` element; a style cannot run code), images and tiles from the
  service, ``data:``/``blob:`` URLs and the configured base map's host, no plug-ins, no framing
  (``frame-ancestors 'none'``); pygeoapi's HTML pages under ``/ogc`` load Leaflet and Bootstrap from public CDNs
  with inline scripts: they get a policy naming those hosts (:data:`OGC_HTML_HOSTS`), the only pages that do;
* sets ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: strict-origin-when-cross-origin``, and
  ``Strict-Transport-Security`` when the public URL (``GIS_PUBLIC_URL``) is ``https``;
* removes ``Server`` and ``X-Powered-By`` headers that name the stack (uvicorn's own ``server`` header is turned
  off by :data:`UVICORN_OPTIONS`);
* rewrites the ``Location`` of a redirect (e.g. Starlette's trailing-slash redirects, which build it from the
  request's ``Host`` header) to the configured public URL, or, when none is configured, to the address the request
  arrived at (the socket's, not a header's): a client's ``Host: evil.example`` is never where a redirect leads. The
  target stays absolute: QGIS 3.22 crashes on a relative ``Location``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis_service.settings import Settings

__all__ = ["OGC_HTML_HOSTS", "UVICORN_OPTIONS", "SecurityHeaders", "content_security_policy", "source_of_url"]

#: Options of uvicorn that keep the stack out of the answers (``planning serve``).
UVICORN_OPTIONS: dict[str, Any] = {"server_header": False}

#: The hosts pygeoapi's HTML templates load scripts, styles and fonts from (pygeoapi 0.24).
OGC_HTML_HOSTS = (
    "https://unpkg.com",
    "https://cdn.jsdelivr.net",
    "https://cdnjs.cloudflare.com",
    "https://fonts.googleapis.com",
    "https://fonts.gstatic.com",
)

ONE_YEAR_S = 31_536_000
STACK_HEADERS = ("server", "x-powered-by")
_TEMPLATE_LABEL = re.compile(r"\{[^}]*\}")


def source_of_url(url: str | None) -> str | None:
    """The CSP source of a tile URL template's host (``https://{s}.tile.example/{z}/{x}/{y}.png`` ->
    ``https://*.tile.example``), or ``None`` for a URL on the service itself (a path) or none.

    Parameters
    ----------
    url
        An XYZ tile URL template, as ``GIS_VIEWER__BASE_MAP_URL``.
    """
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    labels = [("*" if _TEMPLATE_LABEL.search(label) else label) for label in host.split(".")]
    # a placeholder may only stand for the leftmost labels in a CSP source: a host with one elsewhere is widened
    # to its scheme, the narrowest source that still lets the tiles load
    if "*" in labels[1:] or labels == ["*"]:
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy(settings: Settings) -> str:
    """The policy of the service's own pages (the viewer, ``/docs``) and of every other answer but pygeoapi's HTML.

    Parameters
    ----------
    settings
        The base map's URL (its host may serve images and tiles).
    """
    base_map = source_of_url(settings.viewer.base_map_url)
    extra = f" {base_map}" if base_map else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' blob:",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            f"connect-src 'self' data: blob:{extra}",
            f"img-src 'self' data: blob:{extra}",
            "style-src 'self' 'unsafe-inline'",  # CesiumJS sets style attributes and adds a <style> element
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def ogc_html_policy() -> str:
    """The policy of pygeoapi's HTML pages: its CDN hosts and inline scripts, no framing, no plug-ins."""
    hosts = " ".join(OGC_HTML_HOSTS)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'unsafe-inline' {hosts}",
            f"style-src 'self' 'unsafe-inline' {hosts}",
            f"font-src 'self' data: {hosts}",
            "img-src 'self' data: blob: https:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def arrived_at(scope: Scope | None) -> tuple[str, str]:
    """The scheme and ``host:port`` of the socket a request arrived at (``("", "")`` when unknown).

    Parameters
    ----------
    scope
        The ASGI scope of the request; its ``server`` is the local address of the connection.
    """
    server = (scope or {}).get("server")
    if not server or server[1] is None:
        return "", ""
    host, port = str(server[0]), int(server[1])
    host = f"[{host}]" if ":" in host else host
    return str((scope or {}).get("scheme", "http")), f"{host}:{port}"


class SecurityHeaders:
    """ASGI middleware adding the headers of the module doc to every HTTP answer, and keeping redirects home.

    Parameters
    ----------
    app
        The application to wrap.
    settings
        The public URL (HSTS, redirects) and the base map (the policy).
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.policy = content_security_policy(settings)
        self.ogc_policy = ogc_html_policy()
        public = urlsplit(settings.public_url) if settings.public_url else None
        self.public = public if public and public.scheme in ("http", "https") and public.netloc else None
        self.hsts = bool(self.public and self.public.scheme == "https")
        self.policy_bytes, self.ogc_policy_bytes = self.policy.encode(), self.ogc_policy.encode()
        self.fixed = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
        if self.hsts:
            self.fixed.append((b"strict-transport-security", f"max-age={ONE_YEAR_S}; includeSubDomains".encode()))
        # what is removed: the stack's names, and the headers set here (set, not added twice)
        self.replaced = {n.encode() for n in STACK_HEADERS} | {b"content-security-policy"} | {k for k, _ in self.fixed}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self._amend(message, scope)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _amend(self, message: Message, scope: Scope) -> None:
        # on the raw header list: the headers object's parsing and copying cost as much as a cached lookup's answer
        raw: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
        content_type = next((v for k, v in raw if k.lower() == b"content-type"), b"")
        path = str(scope.get("path", ""))
        ogc_page = content_type.startswith(b"text/html") and (path == "/ogc" or path.startswith("/ogc/"))
        added = [
            (b"content-security-policy", self.ogc_policy_bytes if ogc_page else self.policy_bytes),
            *self.fixed,
        ]
        kept = [(k, v) for k, v in raw if k.lower() not in self.replaced]
        message["headers"] = kept + added
        status = int(message["status"])
        if 300 <= status < 400:
            headers = MutableHeaders(scope=message)
            location = headers.get("location")
            if location is not None:
                headers["Location"] = self.home(location, scope)

    def home(self, location: str, scope: Scope | None = None) -> str:
        """A redirect's target on the public URL (or on the address the request arrived at when none is configured).

        Parameters
        ----------
        location
            The ``Location`` the application answered, perhaps built from the request's ``Host`` header.
        scope
            The request: its scheme and the local address of its connection (no public URL configured).
        """
        target = urlsplit(location)
        if not target.scheme and not target.netloc:
            return location  # a path: the browser stays on the host it asked
        path = target.path or "/"
        if self.public is None:
            return urlunsplit((*arrived_at(scope), path, target.query, target.fragment))
        prefix = self.public.path.rstrip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            prefix = ""  # already under the public URL's path (the app knows its root path)
        return urlunsplit((self.public.scheme, self.public.netloc, prefix + path, target.query, target.fragment))
