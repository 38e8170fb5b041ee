"""Routes of subscriptions to plan changes: subscribe (anyone), confirm and unsubscribe by the links of the mails.

``POST /subscriptions`` answers 202 in the same words whether the address was known or not: an address is never
shown or confirmed to anyone. The links answer small bilingual HTML pages; ``POST /subscriptions/unsubscribe`` is the
one-click unsubscribe of mail programs (RFC 8058). The client address counted against floods is the socket's
(``X-Forwarded-For`` only through the trusted proxies uvicorn is told of), as for logins.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from gis_service.api.deps import EngineDep
from gis_service.errors import NotFound
from gis_service.notices import confirm, subscribe, unsubscribe
from gis_service.notices.subscriptions import MAX_EMAIL
from gis_service.settings import Settings

__all__ = ["SubscriptionRequest", "subscriptions_router"]

TAG = "Notices of plan changes (thông báo thay đổi quy hoạch)"
_BIGINT = 2**63

#: The one answer to a subscription, whoever the address belongs to.
ACCEPTED = (
    "Nếu địa chỉ thư hợp lệ, một thư xác nhận sẽ được gửi tới đó; hãy mở liên kết trong thư để bắt đầu nhận thông báo. "
    "/ If the address is valid, a confirmation mail is on its way: open its link to start receiving notices."
)
NOT_CONFIGURED = (
    "Dịch vụ chưa được cấu hình để gửi thư, nên chưa thể đăng ký nhận thông báo. / "
    "This service is not set up to send mail, so subscriptions cannot be taken now."
)


class SubscriptionRequest(BaseModel):
    """A subscription: an e-mail address and a parcel or an area (one of them)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(max_length=MAX_EMAIL, examples=["ten@example.vn"], description="Where the notices go")
    parcel_id: int | None = Field(default=None, gt=0, lt=_BIGINT, description="The parcel to follow")
    area: dict[str, Any] | None = Field(
        default=None,
        description="Or an area to follow: a GeoJSON Polygon or MultiPolygon in lon/lat (CRS84), a few km² at most",
    )
    lang: Literal["vi", "en"] = Field(default="vi", description="The language of the mails (vi first by default)")


class Accepted(BaseModel):
    """The answer to a subscription, the same for any address."""

    message: str


Token = Annotated[str, Query(min_length=1, max_length=200, description="The secret of the link from the mail")]

_HTML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "A page saying what was done"},
    404: {"content": {"text/html": {}}, "description": "A page saying the link is unknown"},
}


def _page(status: int, title: str, lines: list[str]) -> HTMLResponse:
    """A small bilingual page; every text is escaped."""
    body = "".join(f"<p>{escape(line)}</p>" for line in lines)
    html = (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
        f'<body style="font-family:sans-serif;max-width:40em;margin:2em auto"><h1>{escape(title)}</h1>{body}'
        '<p><a href="/">Bản đồ quy hoạch / Planning map</a></p></body></html>'
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def _unknown() -> HTMLResponse:
    return _page(
        404,
        "Liên kết không đúng / Unknown link",
        [
            "Liên kết này không đúng hoặc không còn dùng được. Hãy kiểm tra lại liên kết trong thư.",
            "This link is unknown or no longer valid. Check the link in the mail.",
        ],
    )


def subscriptions_router(settings: Settings) -> APIRouter:
    """The ``/subscriptions`` routes.

    Parameters
    ----------
    settings
        The SMTP settings (unset host: subscribing answers 503) and the limits of subscriptions.
    """
    router = APIRouter(prefix="/subscriptions", tags=[TAG])
    _subscribe_route(router, settings)
    _link_routes(router)
    return router


def _subscribe_route(router: APIRouter, settings: Settings) -> None:
    @router.post(
        "",
        summary="Subscribe a parcel or an area to notices of plan changes (a confirmation mail is sent)",
        status_code=202,
        response_model=Accepted,
        responses={
            429: {"description": "Too many subscriptions from this client or for this address"},
            503: {"description": "Mail is not configured on this service"},
        },
    )
    def subscribe_route(request: Request, engine: EngineDep, body: SubscriptionRequest) -> JSONResponse:
        """Always 202 in the same words, whether the address was known or not; the notices start once the link of
        the confirmation mail is opened."""
        if settings.smtp.host is None:
            return JSONResponse({"code": "ServiceUnavailable", "description": NOT_CONFIGURED}, status_code=503)
        with engine.begin() as conn:
            subscribe(
                conn,
                email=body.email,
                parcel_id=body.parcel_id,
                area=body.area,
                lang=body.lang,
                client_addr=request.client.host if request.client else "unknown",
                limits=settings.notices,
            )
        runner = getattr(request.app.state, "jobs", None)
        if runner is not None:
            runner.wake()  # the confirmation goes out now, not at the next poll
        return JSONResponse({"message": ACCEPTED}, status_code=202, headers={"Cache-Control": "no-store"})


def _link_routes(router: APIRouter) -> None:
    @router.get("/confirm", summary="Confirm a subscription (the link of its mail)", responses=_HTML_RESPONSES)
    def confirm_route(engine: EngineDep, token: Token) -> HTMLResponse:
        try:
            with engine.begin() as conn:
                sub = confirm(conn, token)
        except NotFound:
            return _unknown()
        if sub.unsubscribed:
            return _page(
                200,
                "Đăng ký đã kết thúc / Subscription ended",
                [
                    "Đăng ký này đã được hủy trước đó; hãy đăng ký lại nếu muốn nhận thông báo.",
                    "This subscription was ended before; subscribe again to receive notices.",
                ],
            )
        return _page(
            200,
            "Đã xác nhận / Confirmed",
            [
                "Cảm ơn bạn. Bạn sẽ nhận thư khi một dự thảo quy hoạch được lấy ý kiến hoặc một quy hoạch mới "
                "được công bố có thay đổi tại nơi bạn đã chọn. Mỗi thư có liên kết để ngừng nhận.",
                "Thank you. You will be mailed when a draft plan open for comment, or a newly published plan, changes "
                "the place you chose. Every mail has a link to stop them.",
            ],
        )

    def _unsubscribe(engine: Engine, token: str) -> HTMLResponse:
        try:
            with engine.begin() as conn:
                unsubscribe(conn, token)
        except NotFound:
            return _unknown()
        return _page(
            200,
            "Đã hủy đăng ký / Unsubscribed",
            [
                "Bạn sẽ không nhận thêm thông báo nào cho đăng ký này.",
                "You will receive no more notices for this subscription.",
            ],
        )

    @router.get("/unsubscribe", summary="End a subscription (the link of every notice)", responses=_HTML_RESPONSES)
    def unsubscribe_route(engine: EngineDep, token: Token) -> HTMLResponse:
        return _unsubscribe(engine, token)

    @router.post(
        "/unsubscribe",
        summary="End a subscription in one click (RFC 8058 List-Unsubscribe-Post from a mail program)",
        responses=_HTML_RESPONSES,
    )
    def unsubscribe_post(engine: EngineDep, token: Token) -> HTMLResponse:
        """The body (``List-Unsubscribe=One-Click``) is not needed: the token of the address says which one."""
        return _unsubscribe(engine, token)
