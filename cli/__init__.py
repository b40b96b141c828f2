"""The `midway` command line (`cli/main.py` dispatches to `cli/commands/<name>.py`). Nothing else imports it."""
