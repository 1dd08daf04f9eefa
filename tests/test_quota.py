"""Nobody spends the merchant's WeChat quota but its users (issue 16 §3).

Each attack of the review, replayed: the upstream calls the sandbox counts stay within the
documented bound (README, "Security: what is bound to what", Quota), while real users behind one
address are never limited.
"""

from __future__ import annotations

import secrets
import string
import threading

import pytest

from bff import create_app
from bff.domain import profiles
from bff.ground.config import ConfigError, load_settings
from tests.story import Story, bearer

ADDRESS_FAILURES = 30  # the defaults: BFF_LIMIT_ADDRESS_FAILURES=30/minute;...
USER_FAILURES = 10  # BFF_LIMIT_USER_FAILURES=10/minute;...
_ALNUM = string.ascii_letters + string.digits


def junk_code() -> str:
    """A well-formed login code no user was given."""
    return "".join(secrets.choice(string.digits) for _ in range(12))


def made_up_card_id() -> str:
    return "p" + "".join(secrets.choice(_ALNUM + "_-") for _ in range(27))


def junk_encrypt_code() -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(43)) + "="


def login_calls(story: Story) -> int:
    return story.calls("sns/jscode2session") + story.calls("sns/oauth2/access_token")


def test_junk_logins_from_one_address_make_a_bounded_number_of_calls(story, client):
    answers = [client.post(f"/v1/sessions/{'miniprogram' if i % 2 else 'h5'}",
                           json={"code": junk_code()}) for i in range(200)]
    assert login_calls(story) == ADDRESS_FAILURES  # was 200
    refused = [a for a in answers if a.status_code == 429]
    assert len(refused) == 200 - ADDRESS_FAILURES
    body = story.assert_error(refused[0], 429, message="too many refused attempts")
    assert 1 <= int(refused[0].headers["Retry-After"]) <= 60, body
    # another address is not affected
    other = client.post("/v1/sessions/miniprogram", json={"code": junk_code()},
                        environ_base={"REMOTE_ADDR": "198.51.100.7"})
    story.assert_error(other, 401, errcode=40029)


def test_real_users_behind_one_address_are_never_limited(story, client):
    """A campaign behind one carrier NAT address: successes give their charge back."""
    for _ in range(3 * ADDRESS_FAILURES):
        story.login(story.user())
    assert story.calls("sns/jscode2session") == 3 * ADDRESS_FAILURES


def test_parallel_junk_cannot_slip_through(story, app):
    """50 junk logins at once, each slowed down upstream: the charge comes before the call."""
    story.fault("/sns/jscode2session", latency_ms=200, count=100)
    start = threading.Barrier(50)
    statuses: list[int] = []

    def junk() -> None:
        c = app.test_client()
        start.wait()
        statuses.append(c.post("/v1/sessions/miniprogram", json={"code": junk_code()})
                        .status_code)

    threads = [threading.Thread(target=junk) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(statuses) == 50
    assert story.calls("sns/jscode2session") <= ADDRESS_FAILURES
    assert statuses.count(429) >= 50 - ADDRESS_FAILURES


def test_a_forged_x_forwarded_for_does_not_change_the_address(story, client):
    """BFF_TRUSTED_PROXIES=0 (the default): X-Forwarded-For is the client's word, not used."""
    for i in range(ADDRESS_FAILURES + 10):
        client.post("/v1/sessions/miniprogram", json={"code": junk_code()},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"})
    assert login_calls(story) == ADDRESS_FAILURES


@pytest.fixture
def behind_one_proxy(redis_client, settings_overrides):
    app = create_app({**settings_overrides, "trusted_proxies": 1,
                      "limit_address_failures": "3/minute"})
    app.config["TESTING"] = True
    return app


def test_behind_a_trusted_proxy_the_forwarded_address_counts(behind_one_proxy):
    client = behind_one_proxy.test_client()
    story = Story(client)

    def junk(forwarded: str) -> int:
        return client.post("/v1/sessions/miniprogram", json={"code": junk_code()},
                           headers={"X-Forwarded-For": forwarded}).status_code

    # the router appends the client's address; whatever the client wrote before it is ignored
    assert [junk(f"10.0.0.{i}, 203.0.113.5") for i in range(5)] == [401] * 3 + [429] * 2
    assert junk("203.0.113.6") == 401
    assert login_calls(story) == 4


@pytest.mark.slow  # seconds of real waiting (timeouts, renewals, outages)
def test_add_card_with_made_up_card_ids_makes_a_bounded_number_of_calls(story):
    token = story.login(story.user())
    answers = [story.sign(token, {"card_id": made_up_card_id()}) for _ in range(1000)]
    assert story.calls("card/get") == USER_FAILURES  # was 1000
    assert sum(a.status_code == 404 for a in answers) == USER_FAILURES
    story.assert_error(answers[USER_FAILURES], 429,
                       message="too many refused attempts from this user")
    story.assert_error(answers[-1], 429, message="too many requests from this user")
    assert len(profiles._local(story.app.extensions["bff"].redis)) <= profiles.CACHE_ENTRIES


def test_requests_answered_from_caches_are_not_counted(story):
    """add-card for a known card (the hot path) calls no one: no limit applies to it."""
    token = story.login(story.user())
    card_id = story.card()
    assert [story.sign(token, {"card_id": card_id}).status_code
            for _ in range(100)] == [200] * 100  # over BFF_LIMIT_USER's 60/minute
    assert story.calls("card/get") == 1


def test_junk_decrypts_make_a_bounded_number_of_calls(story, client):
    token = story.login(story.user())
    answers = [client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                           json={"encrypt_code": junk_encrypt_code()}) for _ in range(200)]
    assert story.calls("card/code/decrypt") == USER_FAILURES  # was 200
    assert {a.status_code for a in answers} == {404, 429}


def test_member_info_for_random_card_ids_asks_for_the_card_package_once(story, client):
    user = story.user()
    token = story.login(user, app="h5")
    answers = [client.get(f"/v1/membership/cards/{made_up_card_id()}", headers=bearer(token))
               for _ in range(300)]
    assert story.calls("card/user/getcardlist") == 1  # was 300
    assert {a.status_code for a in answers} <= {404, 429}


def test_one_unknown_card_id_is_asked_once_a_minute_for_every_user(story):
    card_id = made_up_card_id()
    for _ in range(5):
        token = story.login(story.user())
        story.assert_error(story.sign(token, {"card_id": card_id}), 404, errcode=40073)
    assert story.calls("card/get") == 1


def test_a_cold_storm_on_one_new_card_makes_one_card_get(story, app, settings_overrides):
    """50 users (50 addresses) on two instances (two apps on one Redis), WeChat slow to answer.
    (From one address, at most BFF_LIMIT_ADDRESS_FAILURES requests are in flight at once.)"""
    other = create_app(settings_overrides)
    other.config["TESTING"] = True
    card_id = story.card()
    tokens = [story.login(story.user()) for _ in range(50)]
    story.fault("/card/get", latency_ms=300, count=100)
    start = threading.Barrier(50)
    statuses: list[int] = []

    def sign(i: int) -> None:
        c = (app if i % 2 else other).test_client()
        start.wait()
        statuses.append(c.post("/v1/cards/add-card", json={"cards": [{"card_id": card_id}]},
                               headers=bearer(tokens[i]),
                               environ_base={"REMOTE_ADDR": f"198.51.100.{i}"}).status_code)

    threads = [threading.Thread(target=sign, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200] * 50
    assert story.calls("card/get") == 1  # was 28 on the cluster


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/sessions/miniprogram", {"code": "x"}),
    ("/v1/sessions/h5", {"code": "not a code!"}),
    ("/v1/cards/add-card", {"cards": [{"card_id": "pShort"}]}),
    ("/v1/cards/codes/decrypt", {"encrypt_code": "abc"}),
    ("/v1/cards/codes/decrypt", {"encrypt_code": "<script>alert(1)</script>"}),
    ("/v1/cards/codes/redeem", {"card_id": "p", "code": "1"}),
    ("/v1/membership/activation-plugin", {"card_id": "p" * 29}),
])
def test_malformed_values_are_refused_before_any_call(story, client, path, body):
    token = story.login(story.user())
    before = story.calls()
    story.assert_error(client.post(path, json=body, headers=bearer(token)), 422)
    assert story.calls() == before


def test_the_sandboxs_values_are_well_formed(story, client):
    """Login codes, card_ids and encrypt_codes as the sandbox (WeChat) hands them out."""
    user = story.user()
    card_id = story.card()
    token = story.login(user)
    assert story.login(user, app="h5")
    user, encrypt_code = story.take(card_id, user, token=token)
    assert story.my_code(token, encrypt_code)


def test_limits_are_settings_checked_at_start():
    base = {"sandbox": True}
    assert load_settings({}, {**base, "limit_user": ""}).limit_user == ""  # off
    for name, value in [("limit_address", "lots"), ("limit_user_failures", "0/minute"),
                        ("limit_user", "10 per fortnight"), ("trusted_proxies", -1),
                        ("trusted_proxies", 6)]:
        with pytest.raises(ConfigError):
            load_settings({}, {**base, name: value})
    with pytest.raises(ConfigError, match="BFF_LIMIT_ADDRESS_FAILURES"):
        load_settings({"BFF_SANDBOX": "1", "BFF_LIMIT_ADDRESS_FAILURES": "30/minutes/"})


def test_the_embedded_store_limits_in_memory():
    app = create_app({"sandbox": True})  # no Redis URL: bff dev's embedded store
    client = app.test_client()
    statuses = [client.post("/v1/sessions/miniprogram", json={"code": junk_code()}).status_code
                for _ in range(ADDRESS_FAILURES + 5)]
    assert statuses == [401] * ADDRESS_FAILURES + [429] * 5


def test_one_users_junk_does_not_lock_out_others_behind_the_same_address(story, client):
    """The second review's F4: signed-in refusals are the user's own. Junk logins from an
    address limit that address's logins; users already signed in there keep working."""
    alice, mallory = story.user(), story.user()
    alice_token, mallory_token = story.login(alice), story.login(mallory)
    for _ in range(3 * ADDRESS_FAILURES):  # mallory's junk, signed in, from the shared address
        client.post("/v1/cards/codes/decrypt", headers=bearer(mallory_token),
                    json={"encrypt_code": junk_encrypt_code()})
    for _ in range(2 * ADDRESS_FAILURES):  # and junk logins from it
        client.post("/v1/sessions/miniprogram", json={"code": junk_code()})
    story.assert_error(client.post("/v1/sessions/miniprogram", json={"code": junk_code()}), 429)
    card_id = story.card()
    _, encrypt_code = story.take(card_id, alice, signed_by="ticket")
    answer = client.post("/v1/cards/codes/decrypt", headers=bearer(alice_token),
                         json={"encrypt_code": encrypt_code})
    assert answer.status_code == 200, answer.get_json()


def test_a_guarded_call_sends_its_counters_in_one_round_trip_each_way(story, client,
                                                                     monkeypatch):
    """Five counters (the address's and the user's requests, the user's failures) used to be
    five round trips before the call and two after it; then one before (the counts and the
    charges) and one after (the charges given back), shared with concurrent requests. A
    decrypt's counters now go with its first round trip (the decrypted answer's cache,
    ``spends_quota(ahead=True)``): none of their own before the call."""
    from bff.edges.http import quota
    from bff.ground.store import coalesce, keys

    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    sends: list[bool] = []  # per round trip of the request: whether it holds quota counters
    real = coalesce._Coalescer.send

    def counting(self, build, scripts, carried=()):
        carried = list(carried)
        commands = coalesce._Commands()
        build(commands)
        # (the session's own read, where the session is not in memory, comes first: the
        # session cache is off on a cluster client)
        if [args[0] for args, _ in commands.commands] != ["HMGET"] or not str(
                commands.commands[0][0][1]).startswith(keys.session("")):
            sends.append(any(quota._INCR in c.scripts for c in [*carried, coalesce._Call(
                build, scripts)]))
        return real(self, build, scripts, carried)

    monkeypatch.setattr(coalesce._Coalescer, "send", counting)
    redis = story.app.extensions["bff"].redis
    before = {k: redis.get(k) for k in redis.scan_iter(f"{quota.KEY_PREFIX}:*")}
    answer = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                         headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert sends[0] and sends.count(True) == 2  # with the first, and the charges given back
    after = {k: redis.get(k) for k in redis.scan_iter(f"{quota.KEY_PREFIX}:*")}
    changed = {k: (before.get(k), v) for k, v in after.items() if before.get(k) != v}
    # the requests of the address and the user counted once each window, failures given back
    assert sorted(k.split(":", 2)[2].split("/")[1] for k in changed) == [
        "address-requests", "user-requests", "user-requests"]
    assert all(int(v) == int(b or 0) + 1 for b, v in changed.values())


def test_a_callers_counters_go_in_one_script_in_one_slot(story, client, monkeypatch):
    """A script per counter cost redis-server about 10 us of its own for each: a decrypt's five
    counters (the address's requests; the user's requests and failures, two windows each) go
    in one script per caller, the failures given back in one more; each script's keys share
    one hash slot (a Redis Cluster runs it on one node)."""
    from redis.crc import key_slot

    from bff.edges.http import quota
    from bff.ground.store import coalesce

    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    calls: list[tuple[list[str], list]] = []
    real = coalesce.Script.call

    def recording(self, pipe, keys, args):
        if self is quota._INCR:
            calls.append((list(keys), list(args)))
        return real(self, pipe, keys, args)

    monkeypatch.setattr(coalesce.Script, "call", recording)
    answer = client.post("/v1/cards/codes/decrypt", json={"encrypt_code": encrypt_code},
                         headers=bearer(token))
    assert answer.status_code == 200, answer.text
    kinds = [sorted(k.rsplit(":", 1)[1].split("/")[1] for k in keys) for keys, _ in calls]
    assert kinds == [["address-requests"],
                     ["user-failures", "user-failures", "user-requests", "user-requests"],
                     ["user-failures", "user-failures"]]  # the charges given back
    for keys, args in calls:
        assert len({key_slot(k.encode()) for k in keys}) == 1, keys
        assert len(args) == 3 * len(keys)  # each counter's window, amount and budget
    assert [args[1::3] for _, args in calls] == [[1], [1, 1, 1, 1], [-1, -1]]


def test_decrypts_answered_from_caches_are_not_counted_though_counted_ahead(story, client):
    """A decrypt's counters ride its first read (``spends_quota(ahead=True)``): a decrypt the
    cache answers (the same encrypt_code again, or the same junk again) is given them back, so
    no number of them is counted or refused, and the budgets stay whole for real calls."""
    from bff.edges.http import quota

    user = story.user()
    token = story.login(user)
    _, encrypt_code = story.take(story.card(), user, token=token)
    junk = junk_encrypt_code()
    redis = story.app.extensions["bff"].redis

    def counters() -> dict:
        return {k: int(redis.get(k)) for k in redis.scan_iter(f"{quota.KEY_PREFIX}:*")}

    for body in ({"encrypt_code": encrypt_code}, {"encrypt_code": junk}):
        client.post("/v1/cards/codes/decrypt", headers=bearer(token), json=body)
    decrypts, counted = story.calls("card/code/decrypt"), counters()
    answers = [client.post("/v1/cards/codes/decrypt", headers=bearer(token), json=body)
               for _ in range(40)  # over BFF_LIMIT_USER_FAILURES, and the 60/minute in all
               for body in ({"encrypt_code": encrypt_code}, {"encrypt_code": junk})]
    assert [a.status_code for a in answers] == [200, 404] * 40
    assert story.calls("card/code/decrypt") == decrypts  # the cache answered every one
    assert counters() == counted  # nothing counted, nothing charged
    # a real call still finds the user's whole budget: USER_FAILURES junk values reach WeChat
    fresh = [client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                         json={"encrypt_code": junk_encrypt_code()}) for _ in range(12)]
    # (the first junk value above was charged: it reached WeChat)
    assert story.calls("card/code/decrypt") == decrypts + USER_FAILURES - 1
    assert [a.status_code for a in fresh] == [404] * (USER_FAILURES - 1) + [429] * 3


def test_a_decrypt_over_the_budget_is_refused_before_the_call_and_stays_counted(story, client):
    """Counted ahead, judged at the call: over the budget, 429 with no call made, the request
    counted and its failure charge given back, as when counted at the call."""
    token = story.login(story.user())
    for _ in range(USER_FAILURES):
        client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                    json={"encrypt_code": junk_encrypt_code()})
    decrypts = story.calls("card/code/decrypt")
    refused = client.post("/v1/cards/codes/decrypt", headers=bearer(token),
                          json={"encrypt_code": junk_encrypt_code()})
    story.assert_error(refused, 429, message="too many refused attempts from this user")
    assert story.calls("card/code/decrypt") == decrypts
