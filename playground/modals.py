"""Filling in a modal: the components of a MODAL_SUBMIT, checked like Discord's client checks them."""

from __future__ import annotations

from typing import Any

from playground.errors import DriverError
from playground.interactions import OpenModal
from playground.validation import ACTION_ROW, LABEL, TEXT_INPUT


def modal_submission(modal: OpenModal, values: dict[str, str]) -> list[dict[str, Any]]:
    """The submitted components, in the layout the modal used (labels or legacy action rows)."""
    inputs = {}
    for top in modal.components:
        children = [top["component"]] if top.get("type") == LABEL else top.get("components") or []
        inputs.update({c["custom_id"]: c for c in children if c.get("type") == TEXT_INPUT})
    unknown = sorted(set(values) - set(inputs))
    if unknown:
        raise DriverError(f"modal {modal.custom_id!r} has no field {unknown[0]!r}: fields are {sorted(inputs)}")
    for custom_id, field in inputs.items():
        _check_value(custom_id, field, str(values.get(custom_id, field.get("value") or "")))
    submitted = []
    for top in modal.components:
        if top.get("type") == LABEL:
            child = top["component"]
            submitted.append({"type": LABEL, "component": _answer(child, values)})
        else:
            row = [_answer(c, values) for c in top.get("components") or []]
            submitted.append({"type": ACTION_ROW, "components": row})
    return submitted


def _answer(component: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    custom_id = component.get("custom_id")
    value = str(values.get(custom_id, component.get("value") or "")) if custom_id else ""
    return {"type": component.get("type"), "custom_id": custom_id, "value": value}


def _check_value(custom_id: str, field: dict[str, Any], value: str) -> None:
    if field.get("required", True) and not value:
        raise DriverError(f"field {custom_id!r} is required")
    if value and field.get("min_length") is not None and len(value) < field["min_length"]:
        raise DriverError(f"field {custom_id!r} needs at least {field['min_length']} characters")
    if field.get("max_length") is not None and len(value) > field["max_length"]:
        raise DriverError(f"field {custom_id!r} takes at most {field['max_length']} characters")


def forged_submission(values: dict[str, str]) -> list[dict[str, Any]]:
    """What a modified client sends for a modal the bot never opened: one text input per value."""
    return [{"type": ACTION_ROW, "components": [{"type": TEXT_INPUT, "custom_id": custom_id, "value": value}]}
            for custom_id, value in values.items()]
