"""Every sandbox path, WeChat's and the simulator's, answers ill-typed input without a 500."""

from __future__ import annotations

import pytest

from tests.story import Story

# Every body field a sandbox view reads, at the top level and one level down.
KEYS = (
    "Event FromUserName action_info action_name app appid base_info begin_timestamp bind_openid "
    "biz card cardExt cardId card_id card_list card_type check_consume code custom_fields "
    "date_info encrypt_card_id end_timestamp expire_seconds fields fixed_term force_refresh form "
    "get_custom_code_mode get_limit grant_type increase_stock_value init_balance init_bonus "
    "membership_number multiple_card openid outer_str path quantity reduce_stock_value scene "
    "secret sku title to type unionid_in_event use_custom_code user username activate_ticket "
    "js_code encrypt_code"
).split()
HOSTILE = ["x", -1, 10**30, 1.5, True, None, [], {}, ["x"], {"x": 1}]


def routes(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<oa_openid>", "o-nobody").replace("<code>", "123")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return found


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_no_sandbox_path_answers_500_to_ill_typed_fields(wx, sandbox_app, story: Story, value):
    token = story.token()
    nested = {"card_type": "GROUPON", "groupon": {"base_info": {k: value for k in KEYS}}}
    bodies = [{k: value for k in KEYS}, {**{k: value for k in KEYS}, "card": nested}]
    for method, path in routes(sandbox_app):
        if path.startswith("/_sim/reset"):
            continue
        for body in bodies:
            res = wx.open(path, method=method, json=body, query_string={"access_token": token})
            assert res.status_code < 500, (method, path, body, res.get_data(as_text=True))
