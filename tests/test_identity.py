import pytest

from bff.domain.identity import IdentityConflict, find_identity, link_openids


def test_links_fill_in_and_never_overwrite(redis_client):
    link_openids(redis_client, source="jscode2session", unionid="U1", mp_openid="M1")
    ident = link_openids(redis_client, source="event_unionid", unionid="U1", oa_openid="O1")
    assert (ident.unionid, ident.miniprogram_openid, ident.official_account_openid) == (
        "U1", "M1", "O1")
    assert find_identity(redis_client, oa_openid="O1").miniprogram_openid == "M1"
    assert find_identity(redis_client, mp_openid="M1").official_account_openid == "O1"
    with pytest.raises(IdentityConflict):
        link_openids(redis_client, source="card_ext", mp_openid="M1", oa_openid="O2")
    with pytest.raises(IdentityConflict):
        link_openids(redis_client, source="h5_login", unionid="U2", oa_openid="O1")
    assert find_identity(redis_client, oa_openid="O2") is None
    assert find_identity(redis_client, unionid="U1").official_account_openid == "O1"


def test_card_ext_links_without_unionid(redis_client):
    link_openids(redis_client, source="jscode2session", mp_openid="M9")
    ident = link_openids(redis_client, source="card_ext", mp_openid="M9", oa_openid="O9")
    assert ident.official_account_openid == "O9"
    assert ident.unionid is None
    assert ident.linked_by == "card_ext"
    assert find_identity(redis_client, oa_openid="O9").miniprogram_openid == "M9"


def test_a_refused_link_is_logged_and_counted_without_the_ids(redis_client, caplog):
    from bff.ground.metrics import IDENTITY_CONFLICTS

    link_openids(redis_client, source="jscode2session", unionid="U7", mp_openid="M7")
    before = IDENTITY_CONFLICTS.labels("card_ext")._value.get()
    with caplog.at_level("WARNING", logger="bff.domain.identity"), pytest.raises(IdentityConflict):
        link_openids(redis_client, source="card_ext", unionid="U8", mp_openid="M7")
    assert IDENTITY_CONFLICTS.labels("card_ext")._value.get() == before + 1
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert refused and "card_ext" in refused[0]
    assert not any(s in caplog.text for s in ("U7", "U8", "M7"))
    assert find_identity(redis_client, mp_openid="M7").unionid == "U7"


def test_unlink_removes_one_openid_and_logs_no_ids(redis_client, caplog):
    from bff.domain.identity import unlink

    link_openids(redis_client, source="jscode2session", unionid="U5", mp_openid="M5")
    link_openids(redis_client, source="card_ext", mp_openid="M5", oa_openid="O5")
    with caplog.at_level("WARNING", logger="bff.domain.identity"):
        removed = unlink(redis_client, mp_openid="M5")
    assert removed is not None and removed.official_account_openid == "O5"
    assert find_identity(redis_client, mp_openid="M5") is None
    assert find_identity(redis_client, oa_openid="O5").miniprogram_openid is None
    assert find_identity(redis_client, unionid="U5").miniprogram_openid is None
    assert "removed" in caplog.text
    assert not any(s in caplog.text for s in ("U5", "M5", "O5"))
    assert unlink(redis_client, mp_openid="M5") is None
