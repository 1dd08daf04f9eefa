"""``bff broadcasts send|preview|status`` and ``bff messages card``: JSON out, one-line errors."""

from __future__ import annotations

import json

from tests.story import Story


def run(runner, *args: str) -> tuple[int, dict, str]:
    res = runner.invoke(args=list(args))
    out = json.loads(res.stdout) if res.exit_code == 0 else {}
    return res.exit_code, out, res.stderr.strip()


def test_send_to_all_repeat_and_status(story: Story, runner):
    story.user()
    card_id = story.card()
    code, sent, _ = run(runner, "broadcasts", "send", card_id, "--all",
                        "--client-msg-id", "cli-1")
    assert code == 0 and sent["replayed"] is False and sent["audience"] == "all"
    code, again, _ = run(runner, "broadcasts", "send", card_id, "--all",
                         "--client-msg-id", "cli-1")
    assert code == 0 and again == {**sent, "replayed": True}
    assert story.calls("cgi-bin/message/mass/sendall") == 1
    story.handle_events()
    code, status, _ = run(runner, "broadcasts", "status", sent["broadcast_id"])
    assert code == 0 and (status["status"], status["sent"]) == ("sent", 1)


def test_send_to_a_tag_and_to_a_file_of_openids(story: Story, runner, tmp_path):
    alice, bob = story.user(), story.user()
    token = story.token()
    vip = story.call("/cgi-bin/tags/create", token, {"tag": {"name": "vip"}})["tag"]["id"]
    story.call("/cgi-bin/tags/members/batchtagging", token,
               {"openid_list": [alice["oa_openid"]], "tagid": vip})
    card_id = story.card()
    code, sent, _ = run(runner, "broadcasts", "send", card_id, "--tag", str(vip))
    assert code == 0 and sent["tag_id"] == vip
    listing = tmp_path / "openids.txt"
    listing.write_text(f"# spring campaign\n{alice['oa_openid']}\n\n{bob['oa_openid']},VIP\n")
    code, sent, _ = run(runner, "broadcasts", "send", card_id, "--openids", str(listing))
    assert code == 0 and sent["openid_count"] == 2
    assert story.calls("cgi-bin/message/mass/send") == 1


def test_preview_and_card_message(story: Story, runner):
    alice = story.user(nickname="alice_wx")
    card_id = story.card()
    code, preview, _ = run(runner, "broadcasts", "preview", card_id, "--wxname", "alice_wx")
    assert code == 0 and preview["msg_id"]
    code, sent, _ = run(runner, "messages", "card", alice["oa_openid"], card_id)
    assert code == 0 and sent["card_id"] == card_id
    assert story.calls("cgi-bin/message/mass/preview") == 1
    assert story.calls("cgi-bin/message/custom/send") == 1


def test_errors_are_one_line(story: Story, runner, tmp_path):
    card_id = story.card()
    one = tmp_path / "one.txt"
    one.write_text("o-only-one\n")
    cases = [
        (("broadcasts", "send", card_id), "give exactly one of --all, --tag ID, --openids FILE"),
        (("broadcasts", "send", card_id, "--all", "--tag", "3"), "give exactly one of"),
        (("broadcasts", "send", card_id, "--openids", str(one)), "invalid input: to.openids:"),
        (("broadcasts", "send", card_id, "--openids", str(tmp_path / "missing.txt")),
         "No such file or directory"),
        (("broadcasts", "send", story.card(use_custom_code=True), "--all"), "custom codes"),
        (("broadcasts", "preview", card_id), "give exactly one of --openid, --wxname"),
        (("broadcasts", "status", "b" + "0" * 20), "no such broadcast"),
        (("messages", "card", "o-nobody", card_id), "no such follower"),
    ]
    for args, message in cases:
        res = runner.invoke(args=list(args))
        assert res.exit_code == 1, (args, res.output)
        [line] = res.stderr.strip().splitlines()
        assert line.startswith("Error: ") and message in line, (args, line)
    assert story.calls("cgi-bin/message/mass/send") == 0
