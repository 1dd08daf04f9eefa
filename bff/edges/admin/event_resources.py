"""Operator endpoints of the event area: the event stream, channel statistics, identities."""

from __future__ import annotations

import datetime as dt

from flask.views import MethodView
from marshmallow import RAISE

from bff.domain import channel_stats as stats
from bff.domain.events.stream import read_events
from bff.domain.identity import find_identity, unlink
from bff.edges.admin.event_schemas import (
    ChannelQuery,
    ChannelStats,
    EventsPage,
    EventsQuery,
    IdentityQuery,
    IdentitySchema,
    UnlinkQuery,
)
from bff.edges.http.admin_auth import ADMIN, MARKETING, admin_blueprint, operation
from bff.edges.http.openapi import STORAGE_FAILURE
from bff.ground.errors import NotFound
from bff.ground.services import services

blp = admin_blueprint("events_admin", __name__,
                      "Card events, channel statistics and identity links (operators)")


@blp.route("/events")
class Events(MethodView):
    @blp.arguments(EventsQuery, location="query", as_kwargs=True, unknown=RAISE)
    @operation(blp, (200, EventsPage), fallbacks=(STORAGE_FAILURE,), roles=(MARKETING,))
    def get(self, after: str | None, limit: int) -> dict:
        """Read the event stream in order, after a cursor.

        Pass the previous page's ``next`` as ``after``. Events are kept
        ``BFF_EVENT_RETENTION_DAYS`` days (default 30), then trimmed.
        """
        events, next_cursor = read_events(services().redis, after=after, limit=limit)
        return {"events": events, "next": next_cursor}


@blp.route("/stats/channels")
class Channels(MethodView):
    @blp.arguments(ChannelQuery, location="query", as_kwargs=True, unknown=RAISE)
    @operation(blp, (200, ChannelStats), errors={422: "not a date YYYY-MM-DD, or not a card_id"},
               fallbacks=(STORAGE_FAILURE,), roles=(MARKETING,))
    def get(self, card_id: str | None, from_: dt.date | None, to: dt.date | None) -> dict:
        """Cards received, consumed, deleted and gifted per day and channel (outer_str).

        Days are Asia/Shanghai calendar days of the event's CreateTime; ``from`` and ``to``
        are inclusive (default: the last 30 days). ``from`` after ``to`` is an empty range.
        At most 366 days are answered at a time: ``next_from`` then says where the rest starts.
        """
        start, end, next_from = stats.day_range(from_, to)
        rows = stats.channel_rows(services().redis, card_id=card_id, start=start, end=end)
        return {"rows": rows, "next_from": next_from}


@blp.route("/identities")
class Identities(MethodView):
    @blp.arguments(IdentityQuery, location="query", as_kwargs=True, unknown=RAISE)
    @operation(blp, (200, IdentitySchema),
               errors={404: "no identity has every id given (or no id was given)",
                       422: "an id that is no openid or unionid"},
               fallbacks=(STORAGE_FAILURE,), roles=(ADMIN,))
    def get(self, unionid: str | None, mp_openid: str | None, oa_openid: str | None) -> dict:
        """The links between a unionid, Mini Program openid and Official Account openid.

        Give unionid, mp_openid or oa_openid; several must all belong to the one identity.
        """
        given = {"unionid": unionid, "mp_openid": mp_openid, "oa_openid": oa_openid}
        wanted = {"unionid": unionid, "miniprogram_openid": mp_openid,
                  "official_account_openid": oa_openid}
        r = services().redis
        for name, value in given.items():
            if value:
                identity = find_identity(r, **{name: value})
                found = identity.as_dict() if identity else {}
                if any(v and found.get(k) != v for k, v in wanted.items()):
                    break
                return found
        raise NotFound("no identity is known with every id given "
                       "(give unionid, mp_openid or oa_openid)")

    @blp.arguments(UnlinkQuery, location="query", as_kwargs=True)
    @operation(blp, 204,
               errors={404: "no link is known for that openid, both openids given do not belong "
                            "to one identity, or none was given"},
               roles=(ADMIN,))
    def delete(self, mp_openid: str | None, oa_openid: str | None) -> None:
        """Remove a wrong link: that openid no longer maps to the others (logged without ids)

        Give mp_openid or oa_openid. Both: they must belong to one identity, and the Official
        Account openid's link goes (the Mini Program openid's, proven at login, stays), so
        the two no longer map to each other. Every live session sees the change at once.
        Links are made again only from WeChat's proof (login with a unionid, a pushed
        unionid, a card received through a cardExt signed for that Mini Program user)."""
        r = services().redis
        if mp_openid and oa_openid:
            identity = find_identity(r, mp_openid=mp_openid)
            if identity is None or identity.official_account_openid != oa_openid:
                raise NotFound("no identity has both openids given")
            mp_openid = None
        if not (mp_openid or oa_openid) or unlink(r, mp_openid=mp_openid,
                                                    oa_openid=oa_openid) is None:
            raise NotFound("no link is known for that openid (give mp_openid or oa_openid)")
