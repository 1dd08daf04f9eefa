import pytest

from bff.identity import IdentityConflict, find_identity, link_openids


def test_links_fill_in_and_never_overwrite(redis_client):
    link_openids(redis_client, source="jscode2session", unionid="U1", mp_openid="M1")
    ident = link_openids(redis_client, source="event_unionid", unionid="U1", oa_openid="O1")
    assert (ident.unionid, ident.miniprogram_openid, ident.official_account_openid) == (
        "U1", "M1", "O1")
    assert find_identity(redis_client, oa_openid="O1").miniprogram_openid == "M1"
    assert find_identity(redis_client, mp_openid="M1").official_account_openid == "O1"
    with pytest.raises(IdentityConflict):
        link_openids(redis_client, source="shared_code", mp_openid="M1", oa_openid="O2")
    with pytest.raises(IdentityConflict):
        link_openids(redis_client, source="h5_login", unionid="U2", oa_openid="O1")
    assert find_identity(redis_client, oa_openid="O2") is None
    assert find_identity(redis_client, unionid="U1").official_account_openid == "O1"


def test_shared_code_links_without_unionid(redis_client):
    link_openids(redis_client, source="jscode2session", mp_openid="M9")
    ident = link_openids(redis_client, source="shared_code", mp_openid="M9", oa_openid="O9")
    assert ident.official_account_openid == "O9"
    assert ident.unionid is None
    assert ident.linked_by == "shared_code"
    assert find_identity(redis_client, oa_openid="O9").miniprogram_openid == "M9"
