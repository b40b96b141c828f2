"""`midway playground` runs the emulator, prints its URL and accepts the token it was given."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from cli.main import build_parser


def test_arguments_default_to_the_settings() -> None:
    args = build_parser("playground").parse_args(["playground"])
    assert (args.port, args.host, args.bot_token) == (8765, "127.0.0.1", None)


def test_command_serves_the_api_with_the_given_token() -> None:
    process = subprocess.Popen([sys.executable, "-m", "cli", "playground", "--port", "0", "--bot-token", "tok"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("Midway playground: http://127.0.0.1:")
        url = line.split()[2]
        request = urllib.request.Request(f"{url}/api/v10/users/@me", headers={"Authorization": "Bot tok"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.headers["Content-Type"] == "application/json"
            assert json.loads(response.read())["username"] == "Midway"
    finally:
        process.terminate()
        process.wait(timeout=10)
