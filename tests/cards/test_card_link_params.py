"""A card's link: WeChat appends encrypt_code, card_id, openid and (member cards) outer_str."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.story import bearer


def open_card(story, user, card_id, code):
    view = story.sim("open-card", {"user": user["oa_openid"],
                                   "card_list": [{"card_id": card_id, "code": code}]})
    return view["card_list"][0]["links"]


def test_a_member_cards_link_is_decrypted_and_its_channel_counted_once_a_day(story, client):
    card_id = story.member_card(custom_url="https://h5.example/card?x=1")
    user = story.user()
    token = story.login(user)
    code = story.take_and_open(card_id, user, outer_str="poster-3")
    [link] = open_card(story, user, card_id, code)
    assert link["entry"] == "custom" and link["url"].startswith("https://h5.example/card?x=1&")
    params = {k: v[0] for k, v in parse_qs(urlsplit(link["url"]).query).items()}
    assert set(params) == {"x", "encrypt_code", "card_id", "openid", "outer_str"}
    assert params["openid"] == user["oa_openid"] and params["card_id"] == card_id
    body = {k: params[k] for k in ("encrypt_code", "card_id", "openid", "outer_str")}
    for _ in range(2):  # the page forwards everything the link carried
        res = client.post("/v1/cards/codes/decrypt", json=body, headers=bearer(token))
        assert res.status_code == 200, res.get_json()
        assert res.get_json()["code"] == code
    story.handle_events()
    stats = story.channel_stats(card_id)
    assert stats["poster-3"]["received"] == 1
    rows = client.get("/v1/admin/stats/channels", query_string={"card_id": card_id},
                      headers={"Authorization": "Bearer sandbox-admin-token"}).get_json()
    assert [r["opened"] for r in rows["rows"] if r["outer_str"] == "poster-3"] == [1]


def test_a_coupons_link_has_no_outer_str_and_query_params_are_not_refused(story, client):
    card_id = story.card(custom_url="https://h5.example/use")
    user = story.user()
    token = story.login(user)
    code = story.take_and_open(card_id, user, outer_str="shelf")
    [link] = open_card(story, user, card_id, code)
    assert "outer_str" not in parse_qs(urlsplit(link["url"]).query)
    query = urlsplit(link["url"]).query
    res = client.post(f"/v1/cards/codes/decrypt?{query}",
                      json={"encrypt_code": parse_qs(query)["encrypt_code"][0]},
                      headers=bearer(token))
    assert res.status_code == 200 and res.get_json()["code"] == code
    assert client.get(f"/v1/cards/mine?{query}", headers=bearer(token)).status_code == 200


def test_a_refused_decrypt_counts_nothing(story, client):
    card_id = story.member_card(custom_url="https://h5.example/card")
    owner, other = story.user(), story.user()
    code = story.take_and_open(card_id, owner, outer_str="poster-4")
    [link] = open_card(story, owner, card_id, code)
    params = {k: v[0] for k, v in parse_qs(urlsplit(link["url"]).query).items()}
    res = client.post("/v1/cards/codes/decrypt", json=params,
                      headers=bearer(story.login(other)))
    story.assert_error(res, 403)
    rows = client.get("/v1/admin/stats/channels", query_string={"card_id": card_id},
                      headers={"Authorization": "Bearer sandbox-admin-token"}).get_json()
    assert all(r["opened"] == 0 for r in rows["rows"])
