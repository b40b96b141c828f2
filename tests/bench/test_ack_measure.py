"""The acknowledgement benchmark measures what Discord would: the emulator, in its own process, times
each interaction from dispatch to the bot's callback, for the bare bot and the real Midway bot, both
run in a fresh process of their own as `bench/run` does: /imagine bursts and button presses."""

from __future__ import annotations

from bench import ack_load


def test_small_bursts_are_acknowledged_by_both_bots_and_timed_by_the_emulator() -> None:
    # A short queue-position poll: every settle between bursts waits one (the benchmark keeps 2 s).
    measured, pressed = ack_load.measure_in_fresh_process([3, 4], rounds=2, grids=1, queue_poll_s=0.3)
    result = ack_load.summarise(measured, [3, 4], pressed)
    for label in ("bare", "midway"):
        assert [[len(times) for times in measured[label][n]] for n in (3, 4)] == [[3, 3], [4, 4]]
        # Every interaction answered, each timed (seconds) well inside Discord's 3 s.
        assert all(0 < seconds < ack_load.DISCORD_ACK_S
                   for n in (3, 4) for times in measured[label][n] for seconds in times)
    assert result.figures["ack_lost"] == 0 and result.figures["ack_load_n"] == 4
    assert result.figures["ack_p99_ratio_vs_bare"] > 0
    # U1-U4, V1-V4 and the re-roll of one grid per round, pressed by both bots, each answered in time.
    for label in ("bare", "midway"):
        assert [len(times) for times in pressed[label]] == [9, 9]
        assert all(0 < seconds < ack_load.DISCORD_ACK_S for times in pressed[label] for seconds in times)
    assert result.figures["press_load_n"] == 9 and result.figures["press_p99_ratio_vs_bare"] > 0
