"""Every setting bff/ground/config.py reads is in ``.env.example`` and in the README's Configuration
table, and the go-live checklist is linked from the README."""

from __future__ import annotations

import re
from pathlib import Path

from bff.ground.config import FIELDS

REPO = Path(__file__).resolve().parents[1]
NAME = re.compile(r"BFF_[A-Z0-9_]+")


def settings_read() -> set[str]:
    """Every BFF_* name in bff/ground/config.py: the FIELDS table and any name its code mentions."""
    source = (REPO / "bff" / "ground" / "config.py").read_text("utf-8")
    return set(FIELDS) | set(NAME.findall(source))


def test_env_example_names_every_setting_with_a_comment() -> None:
    lines = (REPO / ".env.example").read_text("utf-8").splitlines()
    assigned = {}
    for i, line in enumerate(lines):
        found = re.fullmatch(r"#? ?(BFF_[A-Z0-9_]+)=.*", line)
        if found:
            assigned[found.group(1)] = i
    missing = settings_read() - set(assigned)
    assert not missing, f".env.example lacks {sorted(missing)}"
    for name in settings_read():
        above = lines[assigned[name] - 1]
        assert above.startswith("# ") and "=" not in above.split()[1], (
            f"{name} in .env.example has no comment line above it")


def test_the_readme_configuration_table_names_every_setting() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    missing = settings_read() - set(NAME.findall(table))
    assert not missing, f"the README's Configuration table lacks {sorted(missing)}"


def test_the_go_live_checklist_is_linked_and_names_bff_check() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert "(docs/go-live.md)" in readme
    checklist = (REPO / "docs" / "go-live.md").read_text("utf-8")
    for must in ("bff check", "JS接口安全域名", "网页授权域名", "request合法域名", "业务域名",
                 "IP白名单", "EncodingAESKey", "安全模式", "开放平台", "BFF_DATA_KEY",
                 "BFF_ADMIN_TOKEN", "appendonly"):
        assert must in checklist, must
