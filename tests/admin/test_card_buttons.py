"""WeChat's own buttons on a card (self-redemption, quick pay) and online redemption marks."""

from __future__ import annotations

import json

from tests.story import ADMIN


def test_self_consume_and_pay_cells_are_set_and_shown_by_card_get(story, client, runner):
    card_id = story.card()
    res = client.put(f"/v1/admin/cards/{card_id}/self-consume-cell",
                     json={"is_open": True, "need_verify_cod": True}, headers=ADMIN)
    assert res.get_json() == {"card_id": card_id, "is_open": True, "need_verify_cod": True,
                              "need_remark_amount": False}
    res = client.put(f"/v1/admin/cards/{card_id}/pay-cell", json={"is_open": True},
                     headers=ADMIN)
    assert res.get_json() == {"card_id": card_id, "is_open": True}
    base = story.admin_card(card_id)["card"]["general_coupon"]["base_info"]
    assert base["self_consume_cell"]["is_open"] is True
    assert base["pay_info"]["swipe_card"]["is_swipe_card"] is True
    res = runner.invoke(args=["cards", "pay-cell", card_id, "--close"])
    assert res.exit_code == 0 and json.loads(res.stdout)["is_open"] is False
    res = runner.invoke(args=["cards", "self-consume-cell", card_id, "--close"])
    assert res.exit_code == 0, res.output + res.stderr
    assert story.calls("card/paycell/set") == 2 and story.calls("card/selfconsumecell/set") == 2


def test_refused_settings_never_reach_wechat(story, client):
    card_id = story.card()
    for body in ({}, {"is_open": "yes"}, {"is_open": True, "extra": 1}):
        res = client.put(f"/v1/admin/cards/{card_id}/pay-cell", json=body, headers=ADMIN)
        story.assert_error(res, 422)
    res = client.put("/v1/admin/cards/pUnknownUnknownUnknownUnknown1/pay-cell",
                     json={"is_open": True}, headers=ADMIN)
    story.assert_error(res, 404, errcode=40073)
    assert story.calls("card/paycell/set") == 1


def mark(client, card_id, code, openid, is_mark=True):
    return client.post("/v1/admin/codes/mark", headers=ADMIN, json={
        "card_id": card_id, "code": code, "openid": openid, "is_mark": is_mark})


def test_a_code_marked_by_one_openid_cannot_be_marked_by_another(story, client, runner):
    card_id = story.card()
    holder = story.user()
    code = story.take_and_open(card_id, holder)
    res = mark(client, card_id, code, holder["oa_openid"])
    assert res.status_code == 200 and res.get_json()["is_mark"] is True
    assert mark(client, card_id, code, holder["oa_openid"]).status_code == 200  # again: fine
    other = story.user()
    story.assert_error(mark(client, card_id, code, other["oa_openid"]), 409, errcode=40145)
    res = runner.invoke(args=["codes", "mark", card_id, code, "--openid", holder["oa_openid"],
                              "--release"])
    assert res.exit_code == 0 and json.loads(res.stdout)["is_mark"] is False
    story.assert_error(mark(client, card_id, "999999999999", holder["oa_openid"]), 404,
                       errcode=40056)
    story.assert_error(mark(client, card_id, code, "x y"), 422)
    assert story.calls("card/code/mark") == 5


def test_the_sandbox_refuses_another_openids_mark(story):
    card_id = story.card()
    holder, _ = story.take(card_id)
    token = story.token()
    [code_] = [c for c in story.call("/card/user/getcardlist", token,
                                     {"openid": holder["oa_openid"]})["card_list"]]
    body = {"card_id": card_id, "code": code_["code"], "openid": holder["oa_openid"],
            "is_mark": True}
    assert story.call("/card/code/mark", token, body)["errcode"] == 0
    other = {**body, "openid": story.user()["oa_openid"]}
    assert story.call("/card/code/mark", token, other)["errcode"] == 40145
    assert story.call("/card/code/mark", token, {**other, "openid": "o-nobody"})["errcode"] \
        == 40003
    released = story.call("/card/code/mark", token, {**body, "is_mark": False})
    assert released["errcode"] == 0
    assert story.call("/card/code/mark", token, other)["errcode"] == 0  # free again
    assert story.call("/card/code/mark", token, {**body, "is_mark": "1"})["errcode"] == 47001
