"""Subscriptions to plan changes and the notices they receive by mail (thông báo thay đổi quy hoạch).

Anyone may subscribe a parcel or an area with an e-mail address, confirmed by a link
(:mod:`~gis_service.notices.subscriptions`); a draft opened for consultation or a version published writes a notice
for each subscription it touches, in the same transaction (:mod:`~gis_service.notices.events`); the mails go out
through SMTP after commit (:mod:`~gis_service.notices.outbox`), worded by :mod:`~gis_service.notices.compose`.
"""

from gis_service.notices.events import consultation_opened, version_published
from gis_service.notices.outbox import HANDLERS, send_pending
from gis_service.notices.subscriptions import Subscription, confirm, subscribe, unsubscribe

__all__ = [
    "HANDLERS",
    "Subscription",
    "confirm",
    "consultation_opened",
    "send_pending",
    "subscribe",
    "unsubscribe",
    "version_published",
]
