"""Discord's payload limits: the ONE table.

The playground emulator rejects payloads that break these limits (as Discord would), and the bot sizes
its own payloads with the same numbers, so a limit lives in exactly one place. Values come from the
Discord developer docs (see ../shared/reference/discord-api.md, table A4).
"""

from __future__ import annotations

import re
from typing import Final

# Messages (docs: message.mdx "Create Message").
MESSAGE_CONTENT: Final = 2000
EMBEDS_PER_MESSAGE: Final = 10
EMBED_TITLE: Final = 256
EMBED_DESCRIPTION: Final = 4096
EMBED_FIELDS: Final = 25
EMBED_FIELD_NAME: Final = 256
EMBED_FIELD_VALUE: Final = 1024
EMBED_FOOTER_TEXT: Final = 2048
EMBED_AUTHOR_NAME: Final = 256
# The sum of all embeds' texts in one message.
EMBED_TOTAL: Final = 6000
ATTACHMENTS_PER_MESSAGE: Final = 10
# Create Message's `nonce` (an integer or a string); with `enforce_nonce` it deduplicates retries.
MESSAGE_NONCE: Final = 25

# Message components (docs: components/reference).
ACTION_ROWS: Final = 5
BUTTONS_PER_ROW: Final = 5
SELECTS_PER_ROW: Final = 1
COMPONENTS_V2_TOTAL: Final = 40
CUSTOM_ID_MIN: Final = 1
CUSTOM_ID: Final = 100
BUTTON_LABEL: Final = 80
BUTTON_URL: Final = 512
SELECT_PLACEHOLDER: Final = 150
SELECT_OPTIONS: Final = 25
SELECT_OPTION_TEXT: Final = 100

# Modals.
MODAL_TITLE: Final = 45
MODAL_COMPONENTS: Final = 5
TEXT_INPUT_LABEL: Final = 45
TEXT_INPUT_VALUE: Final = 4000
TEXT_INPUT_PLACEHOLDER: Final = 100

# Application commands (docs: application-commands).
COMMAND_NAME: Final = 32
COMMAND_DESCRIPTION: Final = 100
COMMAND_OPTIONS: Final = 25
COMMAND_CHOICES: Final = 25
CHOICE_NAME: Final = 100
CHOICE_STRING_VALUE: Final = 100
OPTION_STRING_LENGTH: Final = 6000
COMMAND_TOTAL_SIZE: Final = 8000
CHAT_INPUT_COMMANDS: Final = 100
USER_COMMANDS: Final = 15
MESSAGE_COMMANDS: Final = 15
INTEGER_OPTION_RANGE: Final = 2**53 - 1
NUMBER_OPTION_RANGE: Final = 2**53
AUTOCOMPLETE_CHOICES: Final = 25
# Discord's name rule; lowercase is checked separately (a name must equal its own lower()).
COMMAND_NAME_PATTERN: Final = re.compile(r"^[-_'\w\u0900-\u097F\u0E00-\u0E7F]{1,32}$")

# Interactions (docs: receiving-and-responding).
INTERACTION_ACK_S: Final = 3.0
INTERACTION_TOKEN_S: Final = 15 * 60
# The default upload limit per file; boosted guilds get more, and interactions tell the real value in
# `attachment_size_limit`.
ATTACHMENT_SIZE: Final = 10 * 1024 * 1024

# Message flags the bot may send.
FLAG_SUPPRESS_EMBEDS: Final = 1 << 2
FLAG_EPHEMERAL: Final = 1 << 6
FLAG_LOADING: Final = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS: Final = 1 << 12
FLAG_IS_VOICE_MESSAGE: Final = 1 << 13
FLAG_IS_COMPONENTS_V2: Final = 1 << 15
INTERACTION_RESPONSE_FLAGS: Final = (
    FLAG_SUPPRESS_EMBEDS | FLAG_EPHEMERAL | FLAG_IS_COMPONENTS_V2 | FLAG_IS_VOICE_MESSAGE
    | FLAG_SUPPRESS_NOTIFICATIONS
)

# Permission bits used by the playground and by admin-only commands.
PERMISSION_ADMINISTRATOR: Final = 1 << 3
PERMISSION_MANAGE_CHANNELS: Final = 1 << 4
PERMISSION_MANAGE_GUILD: Final = 1 << 5
