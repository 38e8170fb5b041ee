"""The words of the mails: the confirmation of a subscription and the notices of plan changes.

Each mail has a plain-text and a simple HTML part, Vietnamese then English (English first for a subscriber who asked
for it). Links are written with :data:`PUBLIC_URL` in place of the service's address: the events that write notices
run inside a planner's transaction, without the settings, and the sender (:mod:`gis_service.notices.outbox`) puts in
the address the service is reached at. Every value that comes from a user or a plan is escaped in the HTML part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from urllib.parse import quote

__all__ = [
    "PUBLIC_URL",
    "Mail",
    "ParcelName",
    "PlanRef",
    "confirmation_mail",
    "notice_mail",
    "unsubscribe_link",
    "viewer_link",
]

#: Stands for the service's public address in stored mails; replaced when the mail is sent.
PUBLIC_URL = "{public_url}"


@dataclass(frozen=True)
class Mail:
    """A mail as stored in ``planning.outbox``: subject, plain text, HTML."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class PlanRef:
    """The plan version a notice is about: its code, version number, name, and the consultation period if any."""

    code: str
    version: int
    name: str
    starts_on: date | None = None
    ends_on: date | None = None


def unsubscribe_link(token: str) -> str:
    """The one link that ends a subscription (in every notice, and in its ``List-Unsubscribe`` header)."""
    return f"{PUBLIC_URL}/subscriptions/unsubscribe?token={quote(token)}"


def confirm_link(token: str) -> str:
    """The link that confirms a subscription."""
    return f"{PUBLIC_URL}/subscriptions/confirm?token={quote(token)}"


def viewer_link(parcel_id: int | None, lonlat: tuple[float, float] | None = None, *, lang: str = "vi") -> str:
    """The web viewer at the parcel (or at a point of the area subscribed to), in ``lang``.

    >>> viewer_link(42)
    '{public_url}/#lang=vi&parcel=42'
    """
    if parcel_id is not None:
        return f"{PUBLIC_URL}/#lang={lang}&parcel={parcel_id}"
    if lonlat is not None:
        return f"{PUBLIC_URL}/#lang={lang}&lon={lonlat[0]:.6f}&lat={lonlat[1]:.6f}&z=16"
    return f"{PUBLIC_URL}/#lang={lang}"


#: How a parcel is named: its number, its sheet's (số thửa, số tờ) and its ward.
ParcelName = tuple[int, int, str]


def _where(lang: str, parcel_id: int | None, parcel: ParcelName | None) -> str:
    """The place subscribed to, in words.

    >>> _where("en", 3, (35, 12, "Thuận Thành"))
    'parcel 35, sheet 12, Thuận Thành'
    """
    if parcel is not None:
        number, sheet, ward = parcel
        if lang == "vi":
            return f"thửa đất số {number}, tờ bản đồ số {sheet}, {ward}"
        return f"parcel {number}, sheet {sheet}, {ward}"
    if parcel_id is not None:
        return f"thửa đất {parcel_id}" if lang == "vi" else f"parcel {parcel_id}"
    return "khu vực bạn đã chọn trên bản đồ" if lang == "vi" else "the area you drew on the map"


def _order(lang: str) -> tuple[str, str]:
    return ("en", "vi") if lang == "en" else ("vi", "en")


@dataclass(frozen=True)
class _Para:
    """A paragraph of a mail: its words, then a link or a list of items."""

    text: str
    link: str | None = None
    items: tuple[str, ...] = ()


def _html(paragraphs: Sequence[_Para]) -> str:
    """A small HTML page of the paragraphs; every text is escaped, a link made a link, items a list."""
    body = []
    for p in paragraphs:
        link = f' <a href="{escape(p.link)}">{escape(p.link)}</a>' if p.link else ""
        body.append(f"<p>{escape(p.text)}{link}</p>")
        if p.items:
            body.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in p.items) + "</ul>")
    return '<!doctype html>\n<html><body style="font-family:sans-serif">\n' + "\n".join(body) + "\n</body></html>\n"


def _text(paragraphs: Sequence[_Para]) -> str:
    """The plain-text part: a paragraph's link on the line below it, its items as a list."""
    blocks = []
    for p in paragraphs:
        lines = [p.text, *([p.link] if p.link else []), *(f"- {item}" for item in p.items)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def confirmation_mail(*, token: str, lang: str, parcel_id: int | None, parcel_name: ParcelName | None = None) -> Mail:
    """The mail that asks to confirm a subscription by its link.

    >>> m = confirmation_mail(token="t" * 32, lang="vi", parcel_id=7)
    >>> m.subject
    'Xác nhận đăng ký nhận thông báo quy hoạch / Confirm your subscription to plan notices'
    >>> "{public_url}/subscriptions/confirm?token=" in m.text
    True
    """
    words = {
        "vi": [
            _Para(
                f"Bạn (hoặc ai đó dùng địa chỉ này) đã đăng ký nhận thông báo khi quy hoạch thay đổi tại "
                f"{_where('vi', parcel_id, parcel_name)}. Để xác nhận, hãy mở liên kết:",
                confirm_link(token),
            ),
            _Para("Nếu bạn không đăng ký, hãy bỏ qua thư này: sẽ không có thư nào khác được gửi."),
        ],
        "en": [
            _Para(
                f"You (or someone using this address) asked to be told when the plans change at "
                f"{_where('en', parcel_id, parcel_name)}. To confirm, open the link:",
                confirm_link(token),
            ),
            _Para("If you did not ask, ignore this mail: no other mail will be sent."),
        ],
    }
    first, second = _order(lang)
    paragraphs = [*words[first], _Para("—"), *words[second]]
    subject = {
        "vi": "Xác nhận đăng ký nhận thông báo quy hoạch",
        "en": "Confirm your subscription to plan notices",
    }
    return Mail(f"{subject[first]} / {subject[second]}", _text(paragraphs), _html(paragraphs))


def notice_mail(
    *,
    event: str,
    plan: PlanRef,
    summaries: dict[str, list[str]],
    token: str,
    lang: str,
    parcel_id: int | None,
    parcel_name: ParcelName | None = None,
    lonlat: tuple[float, float] | None = None,
) -> Mail:
    """The notice that a draft touching a subscription is open for consultation, or that a version was published.

    Parameters
    ----------
    event
        ``consultation`` or ``published``.
    plan
        The draft under consultation, or the version published.
    summaries
        The plain-language sentences of what changed there, per language (``vi``, ``en``): those of the
        subscriber's language at least; a section without its own points to the other's.
    token
        The subscription's secret, for its unsubscribe link.
    lang
        The subscriber's language: it comes first.
    parcel_id, parcel_name, lonlat
        The parcel subscribed to (and how to name it), or a point of the area, for the link to the viewer.
    """
    title = f"“{plan.name}” ({plan.code})"  # quoted: a plan's name often begins with "Quy hoạch" itself
    if event == "consultation":
        period_vi = f"từ {plan.starts_on:%d/%m/%Y} đến hết {plan.ends_on:%d/%m/%Y}" if plan.starts_on else ""
        period_en = f"from {plan.starts_on:%Y-%m-%d} to {plan.ends_on:%Y-%m-%d}" if plan.starts_on else ""
        head = {
            "vi": f"Dự thảo phiên bản {plan.version} của {title} được lấy ý kiến cộng đồng {period_vi}. "
            f"Dự thảo này thay đổi quy hoạch tại {_where('vi', parcel_id, parcel_name)}.",
            "en": f"The draft version {plan.version} of {title} is open for public comment {period_en}. "
            f"It changes the plan at {_where('en', parcel_id, parcel_name)}.",
        }
        subject = {
            "vi": f"Lấy ý kiến dự thảo quy hoạch {plan.code} có thay đổi tại nơi bạn theo dõi",
            "en": f"Draft plan {plan.code} open for comment changes a place you follow",
        }
        look = {"vi": "Xem và góp ý trên bản đồ:", "en": "See it and comment on the map:"}
    else:
        head = {
            "vi": f"Phiên bản {plan.version} của {title} đã được phê duyệt và công bố. Phiên bản này thay đổi "
            f"quy hoạch tại {_where('vi', parcel_id, parcel_name)}.",
            "en": f"Version {plan.version} of {title} has been approved and published. It changes the plan "
            f"at {_where('en', parcel_id, parcel_name)}.",
        }
        subject = {
            "vi": f"Quy hoạch {plan.code} mới công bố có thay đổi tại nơi bạn theo dõi",
            "en": f"Newly published plan {plan.code} changes a place you follow",
        }
        look = {"vi": "Xem trên bản đồ:", "en": "See it on the map:"}
    changed = {"vi": "Những thay đổi:", "en": "What changes:"}
    listed_in_other = {
        "vi": "Những thay đổi được liệt kê ở phần tiếng Anh của thư.",
        "en": "What changes is listed in the Vietnamese part of this mail.",
    }
    stop = {
        "vi": "Để ngừng nhận thông báo này, mở liên kết:",
        "en": "To stop these notices, open the link:",
    }
    first, second = _order(lang)
    paragraphs: list[_Para] = []
    for i, lg in enumerate((first, second)):
        if i:
            paragraphs.append(_Para("—"))
        paragraphs.append(_Para(head[lg]))
        if summaries.get(lg):
            paragraphs.append(_Para(changed[lg], items=tuple(summaries[lg])))
        elif any(summaries.values()):
            paragraphs.append(_Para(listed_in_other[lg]))
        paragraphs.append(_Para(look[lg], viewer_link(parcel_id, lonlat, lang=lg)))
        paragraphs.append(_Para(stop[lg], unsubscribe_link(token)))
    return Mail(f"{subject[first]} / {subject[second]}", _text(paragraphs), _html(paragraphs))
