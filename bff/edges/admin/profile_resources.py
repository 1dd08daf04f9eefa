"""Operator endpoints for card profiles and the custom-code pool."""

from __future__ import annotations

from flask.views import MethodView

from bff.domain import pool, profiles
from bff.domain.catalogue import ensure_known
from bff.edges.admin.profile_schemas import PoolLoadOutSchema, PoolLoadSchema, ProfileSchema
from bff.edges.http.admin_auth import MARKETING, admin_blueprint, operation
from bff.edges.http.fields import CARD_ID
from bff.edges.http.openapi import CARD_CALL_FAILURES
from bff.ground.errors import Unprocessable
from bff.ground.services import services

blp = admin_blueprint("card_profiles", __name__, "Operators: how the BFF treats each card")


def _card_id(card_id: str) -> str:
    """A well-formed card_id (422) that WeChat knows (404; cached, bff.domain.catalogue)."""
    try:
        CARD_ID(card_id)
    except Exception:
        raise Unprocessable("not a card_id") from None
    svc = services()
    ensure_known(svc.redis, svc.wechat, card_id)
    return card_id


@blp.route("/cards/<card_id:card_id>/profile")
class Profile(MethodView):
    @operation(blp, (200, ProfileSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def get(self, card_id: str) -> dict:
        """The card's profile (defaults when never set)"""
        return profiles.get_profile(services().redis, _card_id(card_id), fresh=True).as_dict()

    @blp.arguments(ProfileSchema())
    @operation(blp, (200, ProfileSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def put(self, data: dict, card_id: str) -> dict:
        """Set the card's profile; omitted fields keep their value

        bind_openid: sign the caller's OA openid into cardExt. code_mode: none, deposit (codes
        imported into WeChat) or pool (the BFF hands out codes loaded with POST .../pool).
        self_redeem: holders may redeem their own code. Other processes see a change within
        3 seconds (profiles are cached in process on the signing path).
        """
        return profiles.put_profile(services().redis, _card_id(card_id), data).as_dict()


@blp.route("/cards/<card_id:card_id>/pool")
class Pool(MethodView):
    @blp.arguments(PoolLoadSchema())
    @operation(blp, (200, PoolLoadOutSchema), fallbacks=CARD_CALL_FAILURES, roles=(MARKETING,))
    def post(self, data: dict, card_id: str) -> dict:
        """Load codes into the card's pool (a code is never loaded, or handed out, twice)"""
        r = services().redis
        codes = data["codes"]
        added = pool.load_pool(r, _card_id(card_id), codes)
        return {"added": added, "duplicates": len(codes) - added,
                "available": pool.pool_available(r, card_id)}
