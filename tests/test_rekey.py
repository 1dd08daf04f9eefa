"""Data-key rotation: blobs of BFF_DATA_KEY_PREVIOUS still open, ``bff data rekey`` moves them."""

from __future__ import annotations

import base64
import json
import time

import pytest

from bff.domain import rekey
from bff.domain.members.info import wechat_member_info
from bff.domain.members.members import get_member, store_member
from bff.domain.personal import PersonalDataError, seal, unseal
from bff.domain.sessions import store as sessions
from bff.ground.config import ConfigError, load_settings
from bff.ground.store import keys

OLD = base64.b64encode(b"old-data-key-of-thirty-two-bytes"[:32]).decode()
NEW = base64.b64encode(b"new-data-key-of-thirty-two-bytes"[:32]).decode()
THIRD = base64.b64encode(b"a-third-key-nobody-configured!!!"[:32]).decode()
FORM = {"USER_FORM_INFO_FLAG_MOBILE": "13912345678", "USER_FORM_INFO_FLAG_NAME": "李小龙"}


def settings(current: str, previous: str = "", **more):
    return load_settings(environ={}, overrides={
        "sandbox": True, "data_key": current, "data_key_previous": previous, **more})


BEFORE = settings(OLD)
DURING = settings(NEW, OLD)
AFTER = settings(NEW)


@pytest.fixture
def settings_overrides(redis_url: str) -> dict:  # the app (and its CLI) mid-rotation
    return {"sandbox": True, "redis_url": redis_url, "data_key": NEW, "data_key_previous": OLD}


def write_sealed_values(r, s, n_members: int = 3) -> dict:
    """Every kind of sealed value, written by the service's own code under settings ``s``."""
    made: dict = {"members": [], "results": [], "sessions": []}
    for i in range(n_members):
        store_member(r, s, card_id="pMEMBER_card", code=f"{100000 + i}", oa_openid=f"oa{i}",
                     membership_number=str(i), fields={**FORM, "i": i}, source="activation")
        made["members"].append(f"{100000 + i}")
    digest = "ab" * 16
    r.set(keys.activation_result(digest), seal(s, {"card_id": "c", "code": "1"}, f"act:{digest}"),
          ex=86400)
    made["results"].append(digest)
    token, rec = sessions.create_session(
        r, ttl=3600, now=time.time(), mp_openid="mp1",
        sealed_session_key=sessions.seal_session_key(s, "sk-1"))
    made["sessions"].append(rec.token_id)
    wechat_member_info(r, s, KnownMember(), "pMEMBER_card", "100000")  # kept a minute
    made["member_info"] = [("pMEMBER_card", "100000")]
    return made


class KnownMember:
    """WeChat's membercard/userinfo/get, for the member info the service keeps."""

    def membercard_userinfo_get(self, card_id: str, code: str) -> dict:
        return {"openid": "oa0", "bonus": 7, "user_info": {"common_field_list": [
            {"name": "USER_FORM_INFO_FLAG_MOBILE", "value": FORM["USER_FORM_INFO_FLAG_MOBILE"]}]}}


def assert_all_open(r, s, made: dict) -> None:
    for i, code in enumerate(made["members"]):
        member = get_member(r, s, card_id="pMEMBER_card", code=code)
        assert member is not None and member.fields == {**FORM, "i": i}
    for digest in made["results"]:
        blob = r.get(keys.activation_result(digest))
        assert unseal(s, blob, f"act:{digest}") == {"card_id": "c", "code": "1"}
    for token_id in made["sessions"]:
        blob = r.hget(keys.session(token_id), "sk")
        assert sessions.unseal_session_key(s, blob).startswith("sk-")
    for card_id, code in made["member_info"]:
        blob = r.get(keys.member_info(card_id, code))
        assert unseal(s, blob, f"member-info:{card_id}:{code}")["bonus"] == 7


def rekey_interrupted_after(r, batches: int) -> dict[str, str]:
    """A rekey pass (batches of 10) that Ctrl-C stops after ``batches`` batches; its checkpoint."""
    done: list[int] = []

    def stop(n: int) -> None:
        done.append(n)
        if len(done) == batches:
            raise KeyboardInterrupt

    with pytest.raises(rekey.RekeyInterrupted):
        rekey.rekey(r, DURING, count=10, on_batch=stop)
    return rekey.checkpoint(r, DURING)


def test_the_previous_key_is_validated_like_the_current_one():
    with pytest.raises(ConfigError, match="BFF_DATA_KEY_PREVIOUS"):
        settings(NEW, "dG9vIHNob3J0")
    with pytest.raises(ConfigError, match="BFF_DATA_KEY_PREVIOUS"):
        load_settings(environ={"BFF_SANDBOX": "1", "BFF_DATA_KEY_PREVIOUS": "!!not base64!!"})
    assert load_settings(environ={"BFF_SANDBOX": "1", "BFF_DATA_KEY": NEW,
                                  "BFF_DATA_KEY_PREVIOUS": OLD}).data_key_previous == OLD


def test_values_of_the_previous_key_open_during_rotation_and_not_after(redis_client):
    made = write_sealed_values(redis_client, BEFORE)
    assert_all_open(redis_client, DURING, made)
    # Without the previous key they do not open: that is what rekey is for.
    assert get_member(redis_client, AFTER, card_id="pMEMBER_card", code="100000").fields == {}
    blob = redis_client.hget(keys.session(made["sessions"][0]), "sk")
    with pytest.raises(PersonalDataError):
        sessions.unseal_session_key(AFTER, blob)


def test_rekey_moves_every_value_and_the_previous_key_can_then_be_dropped(
        app, runner, redis_client):
    made = write_sealed_values(redis_client, BEFORE)
    # A session_key in the first (pre-v1) format, under the old key, is moved too.
    legacy_token, legacy = sessions.create_session(redis_client, ttl=3600, now=time.time(),
                                                   mp_openid="mp2",
                                                   sealed_session_key=_legacy_blob(OLD, "sk-2"))
    made["sessions"].append(legacy.token_id)
    ttl_before = redis_client.ttl(keys.activation_result(made["results"][0]))

    res = runner.invoke(args=["data", "rekey", "--count", "10"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["resealed"] == 3 + 1 + 2 + 1 and out["unreadable"] == 0 and out["current"] == 0
    assert "rekey" in res.stderr  # the progress bar
    assert_all_open(redis_client, AFTER, made)
    assert redis_client.hget(keys.session(legacy.token_id), "sk").startswith("v1:")
    assert redis_client.ttl(keys.activation_result(made["results"][0])) in range(
        ttl_before - 5, ttl_before + 1)  # the TTL is kept
    assert redis_client.ttl(keys.session(legacy.token_id)) > 0

    again = runner.invoke(args=["data", "rekey"])  # idempotent: a new pass changes nothing
    assert again.exit_code == 0, again.output
    out = json.loads(again.stdout)
    assert out["resealed"] == 0 and out["current"] == 7 and not out["resumed"]


def test_an_interrupted_rekey_resumes_from_its_checkpoint(app, runner, redis_client):
    made = write_sealed_values(redis_client, BEFORE, n_members=120)
    state = rekey_interrupted_after(redis_client, 2)
    first_scanned, first_resealed = int(state["scanned"]), int(state["resealed"])
    cursors = [v for k, v in state.items() if k.startswith("cursor:")]  # one per primary
    assert cursors and any(c not in ("0", "done") for c in cursors)
    assert 0 < first_resealed < 123
    assert "finished_at" not in state

    res = runner.invoke(args=["data", "rekey", "--count", "10"])
    assert res.exit_code == 0, res.output
    assert f"resuming: {first_scanned} keys already scanned" in res.stderr
    out = json.loads(res.stdout)
    assert out["resumed"]
    # SCAN may return a key twice across a resume, never skip one: the values resealed before
    # and after add up to every sealed value, and what was already moved counts as current.
    assert out["resealed"] + out["current"] >= 123 and out["resealed"] <= 123
    assert out["resealed"] > first_resealed  # the counts carry over from the checkpoint
    assert_all_open(redis_client, AFTER, made)
    done = rekey.checkpoint(redis_client, DURING)
    assert [v for k, v in done.items() if k.startswith("cursor:")] and all(
        v == "done" for k, v in done.items() if k.startswith("cursor:"))


def test_a_value_no_key_opens_is_reported_and_left_alone(app, runner, redis_client):
    write_sealed_values(redis_client, BEFORE, n_members=1)
    stranger = settings(THIRD)
    store_member(redis_client, stranger, card_id="pMEMBER_card", code="999999",
                 oa_openid="oaX", membership_number="9", fields=FORM, source="activation")
    blob = redis_client.hget(keys.member("pMEMBER_card", "999999"), "fields")
    res = runner.invoke(args=["data", "rekey"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["unreadable"] == 1 and out["unreadable_keys"] == [keys.member("pMEMBER_card",
                                                                             "999999")]
    assert "open with neither key" in res.stderr
    assert redis_client.hget(keys.member("pMEMBER_card", "999999"), "fields") == blob
    assert "13912345678" not in res.output


def test_a_value_the_service_rewrites_meanwhile_is_not_overwritten(redis_client):
    """The write is a compare-and-set: rekey never puts back an older value."""
    write_sealed_values(redis_client, BEFORE, n_members=1)
    key = keys.member("pMEMBER_card", "100000")
    real_hget = redis_client.hget
    rewritten = []

    def hget_then_the_service_writes(name, field):
        value = real_hget(name, field)
        if name == key and not rewritten:
            store_member(redis_client, DURING, card_id="pMEMBER_card", code="100000",
                         oa_openid="oa0", membership_number="0", fields={"new": "yes"},
                         source="event")
            rewritten.append(True)
        return value

    redis_client.hget = hget_then_the_service_writes  # type: ignore[method-assign]
    result = rekey.rekey(redis_client, DURING)
    redis_client.hget = real_hget  # type: ignore[method-assign]
    member = get_member(redis_client, AFTER, card_id="pMEMBER_card", code="100000")
    assert member is not None and member.fields["new"] == "yes"  # the service's write stands
    assert result.unreadable == 0


def _legacy_blob(key_b64: str, text: str) -> str:
    """The session_key format before v1: base64(nonce | tag | ciphertext), no context."""
    from Crypto.Cipher import AES

    cipher = AES.new(base64.b64decode(key_b64), AES.MODE_GCM, nonce=b"\x01" * 12)
    sealed, tag = cipher.encrypt_and_digest(text.encode())
    return base64.b64encode(b"\x01" * 12 + tag + sealed).decode()


@pytest.fixture
def cluster():
    """Three masters on loopback (no replicas): the rekey's per-node SCAN checkpoints."""
    import shutil
    import subprocess
    import tempfile
    import time

    from redis.cluster import RedisCluster

    from tests.redis_server import free_port

    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is needed to create a cluster")
    ports = [free_port() for _ in range(3)]
    tmp = tempfile.mkdtemp(prefix="bff-cluster-")
    # the bus port is given (its default, port + 10000, may be taken or above 65535)
    procs = [subprocess.Popen(
        ["redis-server", "--port", str(p), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--cluster-enabled", "yes", "--dir", tmp,
         "--cluster-port", str(free_port()),
         "--cluster-config-file", f"nodes-{p}.conf", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for p in ports]
    try:
        for p in ports:
            RedisServerProbe(p).wait()
        subprocess.run(["redis-cli", "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "0", "--cluster-yes"],
                       check=True, capture_output=True, timeout=60)
        client = RedisCluster(host="127.0.0.1", port=ports[0], decode_responses=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.set("probe", "1")
                client.delete("probe")
                break
            except Exception:  # noqa: BLE001 - the cluster is still agreeing on its slots
                assert time.monotonic() < deadline, "the cluster did not come up"
                time.sleep(0.2)
        yield client
        client.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


class RedisServerProbe:
    def __init__(self, port: int) -> None:
        self.port = port

    def wait(self) -> None:
        import time

        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        client.close()


@pytest.mark.slow
@pytest.mark.cluster
def test_rekey_on_a_cluster_checkpoints_each_node_and_resumes(cluster):
    members = [(f"pCARD{i % 7}", f"{200000 + i}") for i in range(90)]
    for card_id, code in members:  # spread over the three nodes' slots
        cluster.hset(keys.member(card_id, code), mapping={
            "card_id": card_id, "code": code,
            "fields": seal(BEFORE, {"n": code}, f"member:{card_id}:{code}")})
    state = rekey_interrupted_after(cluster, 3)
    cursors = {k: v for k, v in state.items() if k.startswith("cursor:")}
    assert cursors and int(state["resealed"]) > 0
    result = rekey.rekey(cluster, DURING, count=10)
    assert result.resumed and result.unreadable == 0
    assert result.resealed + result.current >= 90 and result.resealed <= 90
    final = rekey.checkpoint(cluster, DURING)
    assert sorted(k for k in final if k.startswith("cursor:")) == sorted(
        f"cursor:{n.name}" for n in cluster.get_primaries())
    assert all(v == "done" for k, v in final.items() if k.startswith("cursor:"))
    for card_id, code in members:
        blob = cluster.hget(keys.member(card_id, code), "fields")
        assert unseal(AFTER, blob, f"member:{card_id}:{code}") == {"n": code}
    assert rekey.total_keys(cluster) >= 90
