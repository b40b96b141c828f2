"""Message, component, embed and modal payload rules, checked the way Discord checks them.

Pure functions over the JSON a bot sent; each problem becomes a leaf of one 50035 error tree (see
`errors.FormErrors`), except the rules Discord reports with their own codes (50006 empty message).
The numbers come from `midway.discord_limits`, the table the bot sizes its payloads with.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from midway import discord_limits as limits
from playground.errors import ApiError, FormErrors, Path

BUTTON, SELECT, TEXT_INPUT, LABEL, ACTION_ROW = 2, 3, 4, 18, 1
SELECT_TYPES = {3, 5, 6, 7, 8}
LINK_STYLE, PREMIUM_STYLE = 5, 6
# Primary, secondary, success, danger, link, premium: Discord refuses any other button style.
BUTTON_STYLES = range(1, 7)


def check_message(payload: dict[str, Any], *, creating: bool, file_count: int = 0,
                  allowed_flags: int | None = None, root: Path = ()) -> None:
    """Raise ApiError for a message create/edit payload that Discord would refuse.

    `root` prefixes the error paths: interaction callbacks report under ("data",).
    """
    errors = FormErrors(root)
    content = payload.get("content")
    errors.max_length(("content",), content, limits.MESSAGE_CONTENT)
    if creating and payload.get("nonce") is not None:
        errors.max_length(("nonce",), str(payload["nonce"]), limits.MESSAGE_NONCE)
    check_embeds(errors, payload.get("embeds") or [])
    flags = payload.get("flags") or 0
    if allowed_flags is not None and flags & ~allowed_flags:
        errors.add(("flags",), "MESSAGE_INVALID_FLAGS", f"Invalid flags: {flags}")
    components = payload.get("components") or []
    if flags & limits.FLAG_IS_COMPONENTS_V2:
        check_components_v2(errors, payload, components)
    else:
        check_action_rows(errors, ("components",), components)
    attachments = payload.get("attachments") or []
    if len(attachments) > limits.ATTACHMENTS_PER_MESSAGE or file_count > limits.ATTACHMENTS_PER_MESSAGE:
        errors.add(("attachments",), "BASE_TYPE_MAX_LENGTH",
                   f"Must be {limits.ATTACHMENTS_PER_MESSAGE} or fewer in length.")
    errors.raise_if_any()
    if creating and not _has_body(payload, file_count):
        raise ApiError(400, 50006, "Cannot send an empty message")


def _has_body(payload: dict[str, Any], file_count: int) -> bool:
    keys = ("content", "embeds", "components", "sticker_ids", "poll")
    return file_count > 0 or any(payload.get(key) for key in keys)


def check_embeds(errors: FormErrors, embeds: list[dict[str, Any]]) -> None:
    if len(embeds) > limits.EMBEDS_PER_MESSAGE:
        errors.add(("embeds",), "BASE_TYPE_MAX_LENGTH", f"Must be {limits.EMBEDS_PER_MESSAGE} or fewer in length.")
    total = 0
    for i, embed in enumerate(embeds):
        at: Path = ("embeds", i)
        errors.max_length((*at, "title"), embed.get("title"), limits.EMBED_TITLE)
        errors.max_length((*at, "description"), embed.get("description"), limits.EMBED_DESCRIPTION)
        footer = (embed.get("footer") or {}).get("text")
        author = (embed.get("author") or {}).get("name")
        errors.max_length((*at, "footer", "text"), footer, limits.EMBED_FOOTER_TEXT)
        errors.max_length((*at, "author", "name"), author, limits.EMBED_AUTHOR_NAME)
        fields = embed.get("fields") or []
        errors.max_length((*at, "fields"), fields, limits.EMBED_FIELDS)
        for j, item in enumerate(fields):
            errors.max_length((*at, "fields", j, "name"), item.get("name"), limits.EMBED_FIELD_NAME)
            errors.max_length((*at, "fields", j, "value"), item.get("value"), limits.EMBED_FIELD_VALUE)
        for media in ("image", "thumbnail"):
            check_media_url(errors, (*at, media, "url"), (embed.get(media) or {}).get("url"))
        texts = [embed.get("title"), embed.get("description"), footer, author]
        texts += [t for item in fields for t in (item.get("name"), item.get("value"))]
        total += sum(len(t) for t in texts if t)
    if total > limits.EMBED_TOTAL:
        errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED",
                   f"Embed size exceeds maximum size of {limits.EMBED_TOTAL}")


# An embed's image or thumbnail is a web link Discord's media proxy fetches, or one of the message's own
# files by name ("attachment://grid.png"); any other scheme is refused.
MEDIA_SCHEMES = ("http", "https", "attachment")


def check_media_url(errors: FormErrors, path: Path, url: Any) -> None:
    if url is None:
        return
    scheme = urlsplit(str(url)).scheme.lower()
    if scheme not in MEDIA_SCHEMES:
        errors.add(path, "URL_TYPE_INVALID_SCHEME",
                   f"Scheme \"{scheme}\" is not supported. Scheme must be one of ('http', 'https').")


def check_action_rows(errors: FormErrors, at: Path, rows: list[dict[str, Any]]) -> None:
    """Legacy layout: <= 5 action rows, each with <= 5 buttons or exactly one select."""
    if len(rows) > limits.ACTION_ROWS:
        errors.add(at, "BASE_TYPE_MAX_LENGTH", f"Must be {limits.ACTION_ROWS} or fewer in length.")
    seen: set[str] = set()
    for i, row in enumerate(rows):
        if row.get("type") != ACTION_ROW:
            errors.add((*at, i, "type"), "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of (1,).")
            continue
        children = row.get("components") or []
        if not children:
            errors.add((*at, i, "components"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
        selects = sum(1 for child in children if child.get("type") in SELECT_TYPES)
        if selects and len(children) > limits.SELECTS_PER_ROW:
            errors.add((*at, i, "components"), "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                       "The specified component exceeds the maximum width")
        elif len(children) > limits.BUTTONS_PER_ROW:
            errors.add((*at, i, "components"), "BASE_TYPE_MAX_LENGTH",
                       f"Must be {limits.BUTTONS_PER_ROW} or fewer in length.")
        for j, child in enumerate(children):
            check_interactive(errors, (*at, i, "components", j), child, seen)


def check_interactive(errors: FormErrors, at: Path, component: dict[str, Any], seen: set[str]) -> None:
    """A button or select: custom_id rules (1-100, unique in the message), labels, URLs, options."""
    kind = component.get("type")
    custom_id = component.get("custom_id")
    if kind == BUTTON and component.get("style") not in BUTTON_STYLES:
        errors.add((*at, "style"), "BASE_TYPE_CHOICES", f"Value must be one of {set(BUTTON_STYLES)}.")
        return
    if kind == BUTTON and component.get("style") in (LINK_STYLE, PREMIUM_STYLE):
        if custom_id is not None:
            errors.add((*at, "custom_id"), "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                       "A custom id cannot be set for this button style")
        if component.get("style") == LINK_STYLE and errors.required((*at, "url"), component.get("url")):
            errors.max_length((*at, "url"), component.get("url"), limits.BUTTON_URL)
    elif kind == BUTTON or kind in SELECT_TYPES:
        errors.length_between((*at, "custom_id"), custom_id, limits.CUSTOM_ID_MIN, limits.CUSTOM_ID)
        if custom_id is not None and custom_id in seen:
            errors.add((*at, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED",
                       "Component custom id cannot be duplicated")
        if custom_id is not None:
            seen.add(custom_id)
    else:
        errors.add((*at, "type"), "UNION_TYPE_CHOICES", f"Component type {kind} is not allowed here.")
        return
    if kind == BUTTON:
        errors.max_length((*at, "label"), component.get("label"), limits.BUTTON_LABEL)
        if not component.get("label") and not component.get("emoji") and component.get("style") != PREMIUM_STYLE:
            errors.add((*at, "label"), "BUTTON_COMPONENT_INVALID_LABEL", "A button needs a label or an emoji")
    else:
        errors.max_length((*at, "placeholder"), component.get("placeholder"), limits.SELECT_PLACEHOLDER)
        options = component.get("options") or []
        errors.max_length((*at, "options"), options, limits.SELECT_OPTIONS)
        for k, option in enumerate(options):
            for key in ("label", "value", "description"):
                errors.max_length((*at, "options", k, key), option.get(key), limits.SELECT_OPTION_TEXT)


def check_components_v2(errors: FormErrors, payload: dict[str, Any], components: list[dict[str, Any]]) -> None:
    """Components V2: no content or embeds, at most 40 components counted recursively."""
    if payload.get("content"):
        errors.add(("content",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                   "The 'content' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")
    if payload.get("embeds"):
        errors.add(("embeds",), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                   "The 'embeds' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")
    if _count_components(components) > limits.COMPONENTS_V2_TOTAL:
        errors.add(("components",), "BASE_TYPE_MAX_LENGTH",
                   f"Must be {limits.COMPONENTS_V2_TOTAL} or fewer in length.")


def _count_components(components: list[dict[str, Any]]) -> int:
    total = 0
    for component in components:
        total += 1 + _count_components(component.get("components") or [])
        if isinstance(component.get("component"), dict):
            total += _count_components([component["component"]])
        if isinstance(component.get("accessory"), dict):
            total += 1
    return total


def modal_inputs(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The text inputs of a modal, in either layout (action rows or type-18 labels)."""
    inputs = []
    for top in data.get("components") or []:
        if top.get("type") == LABEL and isinstance(top.get("component"), dict):
            inputs.append(top["component"] | {"label": top.get("label")})
        for child in top.get("components") or []:
            inputs.append(child)
    return inputs


def check_modal(data: dict[str, Any]) -> None:
    """Modal (callback type 9): title <= 45, custom_id 1-100, 1-5 top-level components."""
    errors = FormErrors(("data",))
    errors.length_between(("title",), data.get("title"), 1, limits.MODAL_TITLE)
    errors.length_between(("custom_id",), data.get("custom_id"), limits.CUSTOM_ID_MIN, limits.CUSTOM_ID)
    tops = data.get("components") or []
    if not 1 <= len(tops) <= limits.MODAL_COMPONENTS:
        errors.add(("components",), "BASE_TYPE_BAD_LENGTH",
                   f"Must be between 1 and {limits.MODAL_COMPONENTS} in length.")
    seen: set[str] = set()
    for i, top in enumerate(tops):
        if top.get("type") == LABEL:
            _check_text_input(errors, ("components", i, "component"), top.get("component") or {}, seen)
            continue
        for j, child in enumerate(top.get("components") or []):
            _check_text_input(errors, ("components", i, "components", j), child, seen)
    errors.raise_if_any()


def _check_text_input(errors: FormErrors, at: Path, component: dict[str, Any], seen: set[str]) -> None:
    custom_id = component.get("custom_id")
    errors.length_between((*at, "custom_id"), custom_id, limits.CUSTOM_ID_MIN, limits.CUSTOM_ID)
    if custom_id in seen:
        errors.add((*at, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
    seen.add(custom_id or "")
    if component.get("type") != TEXT_INPUT:
        return
    errors.max_length((*at, "label"), component.get("label"), limits.TEXT_INPUT_LABEL)
    errors.max_length((*at, "value"), component.get("value"), limits.TEXT_INPUT_VALUE)
    errors.max_length((*at, "placeholder"), component.get("placeholder"), limits.TEXT_INPUT_PLACEHOLDER)
    for key in ("min_length", "max_length"):
        value = component.get(key)
        if value is not None and not 0 <= value <= limits.TEXT_INPUT_VALUE:
            errors.add((*at, key), "NUMBER_TYPE_MAX", f"int value should be <= {limits.TEXT_INPUT_VALUE}.")


def check_autocomplete(data: dict[str, Any]) -> None:
    errors = FormErrors(("data",))
    choices = data.get("choices") or []
    errors.max_length(("choices",), choices, limits.AUTOCOMPLETE_CHOICES)
    for i, choice in enumerate(choices):
        errors.length_between(("choices", i, "name"), choice.get("name"), 1, limits.CHOICE_NAME)
    errors.raise_if_any()
