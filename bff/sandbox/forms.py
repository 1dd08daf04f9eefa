"""The member card's activation form: what activateuserform/set stores, and the simulated
plug-in's check that a user filled in exactly that form."""

from __future__ import annotations

from typing import Any

from bff.sandbox.core import Sandbox, SimError, format_error
from bff.sandbox.state import load_json

COMMON_FIELDS = ("USER_FORM_INFO_FLAG_MOBILE", "USER_FORM_INFO_FLAG_SEX",
                 "USER_FORM_INFO_FLAG_NAME", "USER_FORM_INFO_FLAG_BIRTHDAY",
                 "USER_FORM_INFO_FLAG_IDCARD", "USER_FORM_INFO_FLAG_EMAIL",
                 "USER_FORM_INFO_FLAG_LOCATION", "USER_FORM_INFO_FLAG_EDUCATION_BACKGRO",
                 "USER_FORM_INFO_FLAG_INDUSTRY", "USER_FORM_INFO_FLAG_INCOME",
                 "USER_FORM_INFO_FLAG_HABIT")
RICH_TYPES = ("FORM_FIELD_RADIO", "FORM_FIELD_SELECT", "FORM_FIELD_CHECK_BOX")


def form_part(part: Any, name: str) -> dict[str, Any]:
    """One part of the form (required_form or optional_form), checked, as WeChat keeps it."""
    if not isinstance(part, dict):
        raise format_error(f"{name} must be an object")
    common = part.get("common_field_id_list") or []
    custom = part.get("custom_field_list") or []
    rich = part.get("rich_field_list") or []
    if not isinstance(common, list) or any(f not in COMMON_FIELDS for f in common):
        raise format_error(f"{name}.common_field_id_list holds USER_FORM_INFO_FLAG_* names")
    if not isinstance(custom, list) or any(not isinstance(f, str) or not f for f in custom):
        raise format_error(f"{name}.custom_field_list holds names")
    if not isinstance(rich, list):
        raise format_error(f"{name}.rich_field_list must be a list")
    for field in rich:
        if not isinstance(field, dict) or field.get("type") not in RICH_TYPES \
                or not field.get("name") or not isinstance(field.get("values"), list) \
                or not field["values"]:
            raise format_error(f"{name}.rich_field_list entries need type, name and values")
    return {"can_modify": bool(part.get("can_modify", False)),
            "common_field_id_list": list(common), "custom_field_list": list(custom),
            "rich_field_list": [{"type": f["type"], "name": str(f["name"]),
                                 "values": [str(v) for v in f["values"]]} for f in rich]}


def activation_form_of(sb: Sandbox, card_id: str) -> dict[str, Any] | None:
    return load_json(sb.r.get(sb.keys.activation_form(card_id)))


def check_filled_form(form: dict[str, Any], fields: dict[str, Any],
                      custom: dict[str, Any]) -> None:
    """The plug-in shows exactly the configured form: no other field, every required one
    filled, choices among the offered values (422 otherwise)."""
    asked_common: dict[str, bool] = {}
    asked_custom: dict[str, tuple[bool, dict[str, Any] | None]] = {}
    for part, required in (("optional_form", False), ("required_form", True)):
        section = form.get(part) or {}
        for name in section.get("common_field_id_list") or []:
            asked_common[name] = required
        for name in section.get("custom_field_list") or []:
            asked_custom[name] = (required, None)
        for rich in section.get("rich_field_list") or []:
            asked_custom[rich["name"]] = (required, rich)
    for name in fields:
        if name not in asked_common:
            raise SimError(f"the activation form does not ask for {name}", 422)
    for name in custom:
        if name not in asked_custom:
            raise SimError(f"the activation form does not ask for {name!r}", 422)
    for name, required in asked_common.items():
        if required and fields.get(name) in (None, ""):
            raise SimError(f"required field {name} is empty", 422)
    for name, (required, rich) in asked_custom.items():
        value = custom.get(name)
        if required and value in (None, "", []):
            raise SimError(f"required field {name!r} is empty", 422)
        if rich is None or value in (None, "", []):
            continue
        chosen = value if isinstance(value, list) else [value]
        if rich["type"] != "FORM_FIELD_CHECK_BOX" and len(chosen) != 1:
            raise SimError(f"{name!r} takes one choice", 422)
        if any(str(v) not in rich["values"] for v in chosen):
            raise SimError(f"{name!r} must be one of {rich['values']}", 422)
