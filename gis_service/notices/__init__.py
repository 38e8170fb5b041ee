"""Subscriptions to plan changes and the notices they receive by mail (thông báo thay đổi quy hoạch).

Anyone may subscribe a parcel or an area with an e-mail address, confirmed by a link
(:mod:`~gis_service.notices.subscriptions`); a draft opened for consultation or a version published queues, in its
transaction, the job that writes a notice for each subscription it touches (:mod:`~gis_service.notices.events`);
the mails go out through SMTP after commit (:mod:`~gis_service.notices.outbox`), worded by
:mod:`~gis_service.notices.compose`.
"""

from gis_service.notices.events import HANDLERS as _EVENT_JOBS
from gis_service.notices.events import consultation_opened, version_published, write_notices
from gis_service.notices.outbox import HANDLERS as _MAIL_JOBS
from gis_service.notices.outbox import send_pending
from gis_service.notices.subscriptions import Subscription, confirm, subscribe, unsubscribe

#: The code of the notices' jobs (writing the notices of an event, sending mail), for the job runner.
HANDLERS = {**_EVENT_JOBS, **_MAIL_JOBS}

__all__ = [
    "HANDLERS",
    "Subscription",
    "confirm",
    "consultation_opened",
    "send_pending",
    "subscribe",
    "unsubscribe",
    "version_published",
    "write_notices",
]
