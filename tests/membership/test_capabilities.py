"""Version gates from the User-Agent: cards >= 6.0.2, plug-in iOS >= 6.5.9 / Android >= 6.5.10."""

from __future__ import annotations

import pytest

IPHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X) AppleWebKit/603.1.30 "
             "(KHTML, like Gecko) Mobile/14E304 MicroMessenger/{v} NetType/WIFI Language/zh_CN")
ANDROID_UA = ("Mozilla/5.0 (Linux; Android 7.0; MI 5 Build/NRD90M) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Version/4.0 Chrome/57.0 Mobile Safari/537.36 "
              "MicroMessenger/{v} NetType/WIFI Language/zh_CN")



@pytest.mark.parametrize(("ua", "version", "cards", "plugin", "platform"), [
    (IPHONE_UA.format(v="6.5.9"), "6.5.9", True, True, "ios"),
    (IPHONE_UA.format(v="6.5.8"), "6.5.8", True, False, "ios"),
    (ANDROID_UA.format(v="6.5.9.1080"), "6.5.9.1080", True, False, "android"),
    (ANDROID_UA.format(v="6.5.10.1080"), "6.5.10.1080", True, True, "android"),
    (ANDROID_UA.format(v="7.0.3(0x17000321)"), "7.0.3", True, True, "android"),
    (IPHONE_UA.format(v="6.0.1"), "6.0.1", False, False, "ios"),
    (IPHONE_UA.format(v="6.0.2"), "6.0.2", True, False, "ios"),
    ("Mozilla/5.0 (Windows NT 10.0) MicroMessenger/7.0.9 WindowsWechat", "7.0.9", True, False,
     "other"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 10_3) Safari/602.1", None, False, False, "ios"),
])
def test_version_gates(client, ua, version, cards, plugin, platform) -> None:
    answer = client.get("/v1/capabilities", headers={"User-Agent": ua})
    assert answer.status_code == 200
    assert answer.get_json() == {"weixin_version": version, "cards": cards,
                                 "activation_plugin": plugin, "platform": platform}


def test_ua_query_overrides_the_header_and_needs_no_session(client) -> None:
    answer = client.get("/v1/capabilities", query_string={"ua": IPHONE_UA.format(v="8.0.1")},
                        headers={"User-Agent": "curl/8"})
    assert answer.status_code == 200
    assert answer.get_json()["activation_plugin"] is True


def test_no_user_agent_at_all(client) -> None:
    answer = client.get("/v1/capabilities", headers={"User-Agent": ""})
    assert answer.get_json()["weixin_version"] is None
