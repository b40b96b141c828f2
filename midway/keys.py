"""Every Redis key and queue name Midway uses, in one place (bot and worker both import this)."""

from __future__ import annotations

from midway.contract import Lane

PREFIX = "midway"

# RQ queue per (engine, lane); workers listen fast before relax.
LANE_ORDER: tuple[Lane, ...] = (Lane.turbo, Lane.fast, Lane.relax)


def queue_name(engine: str, lane: Lane | str) -> str:
    return f"{PREFIX}:{engine}:{Lane(lane).value}"


def job_key(job_id: str) -> str:
    return f"{PREFIX}:job:{job_id}"


def fetched_key(job_id: str) -> str:
    """Hash: image reference URL -> the blob ref of what the job's first attempt fetched from it."""
    return f"{PREFIX}:fetched:{job_id}"


def blob_key(ref: str) -> str:
    return f"{PREFIX}:blob:{ref}"


# The append-only stream of Events and the consumer group the bot reads it with.
EVENTS_STREAM = f"{PREFIX}:events"
BOT_GROUP = "bot"


def worker_heartbeat_key(worker_name: str) -> str:
    return f"{PREFIX}:worker:{worker_name}"


WORKERS_SET = f"{PREFIX}:workers"


def cancel_key(job_id: str) -> str:
    return f"{PREFIX}:cancel:{job_id}"


def channel_settings_key(channel_id: str) -> str:
    return f"{PREFIX}:channel:{channel_id}"


def guild_settings_key(guild_id: str) -> str:
    return f"{PREFIX}:guild:{guild_id}"


def user_settings_key(user_id: str) -> str:
    return f"{PREFIX}:user:{user_id}"


def user_jobs_key(user_id: str) -> str:
    return f"{PREFIX}:userjobs:{user_id}"


# Jobs let through the caps and not submitted yet, per user: job id -> "<expiry ms> <cost milli-units>"
# (bot/holds.py). The submit that lists a job in user_jobs_key removes its hold in the same MULTI.
def user_holds_key(user_id: str) -> str:
    return f"{PREFIX}:holds:{user_id}"


# The user's jobs that hold one of their running slots (taken by a worker, not finished): workers
# start at most settings.max_running_per_user of them at once (worker/slots.py).
def user_running_key(user_id: str) -> str:
    return f"{PREFIX}:running:{user_id}"


# Bot-side state (bot/store.py). A button press claims (job, action, index) once: the value is the job
# it started, so a second press or a second user gets that job instead of a duplicate.
def button_claim_key(job_id: str, action: str, index: int | None) -> str:
    return f"{PREFIX}:claim:{job_id}:{action}:{index or 0}"


# The custom_ids already used on a job's result message (rendered blue after any later edit).
def used_buttons_key(job_id: str) -> str:
    return f"{PREFIX}:used:{job_id}"


# Set once the result of a job has been posted to Discord: delivery is idempotent by job id.
def delivered_key(job_id: str) -> str:
    return f"{PREFIX}:delivered:{job_id}"


# Held (with a short TTL) by the one bot process delivering a job's result right now (bot/delivery_lease.py).
def delivering_key(job_id: str) -> str:
    return f"{PREFIX}:delivering:{job_id}"


# Finished jobs with a Discord message whose result the bot has not delivered (or given up on) yet:
# job id -> finished_at. Written in the MULTI that publishes the terminal event (JobStore.finish), so a
# result survives that event being trimmed from the stream while the bot is down (bot/missed.py).
UNDELIVERED = f"{PREFIX}:undelivered"


# Why Discord refused a job's result for good (403 missing access, 404 unknown channel/message).
def delivery_failed_key(job_id: str) -> str:
    return f"{PREFIX}:deliveryfailed:{job_id}"


# A permutation / --repeat batch waiting for the user's confirmation.
def batch_key(batch_id: str) -> str:
    return f"{PREFIX}:batch:{batch_id}"


# Lifetime usage per user for /info: images made and compute seconds.
def user_stats_key(user_id: str) -> str:
    return f"{PREFIX}:userstats:{user_id}"


# Every job not yet finished, scored by created_at: the reconciler (worker/reconcile.py) sweeps this
# instead of SCANning the keyspace. A member is "<job id> <user id>" so a job whose record expired can
# still have its user's running slot freed.
ACTIVE_JOBS = f"{PREFIX}:active"


def active_member(job_id: str, user_id: str) -> str:
    return f"{job_id} {user_id}"


# The unfinished jobs that count as less than a full job (drafts): job id -> Job.cost. Fair insertion
# reads it once per submit batch instead of every queued job's record; a finished job leaves it.
PARTIAL_COSTS = f"{PREFIX}:costs"


# The reconciler's state: a lock that lets one worker sweep per interval, the cursor into ACTIVE_JOBS,
# and the jobs it saw lost on an earlier pass (id -> first seen), acted on only if still lost later.
RECONCILE_LOCK = f"{PREFIX}:reconcile:lock"
RECONCILE_CURSOR = f"{PREFIX}:reconcile:cursor"
RECONCILE_SUSPECTS = f"{PREFIX}:reconcile:suspects"

# A value written just before Redis WAIT, on the same connection: WAIT counts the replicas that have
# that connection's writes, and the pipelines before it ran on other connections (midway/replication.py).
REPLICATION_MARK = f"{PREFIX}:replication:mark"
