"""Reading stored job records (GET keys.job_key) tolerantly: a record another release wrote, or one
damaged, must not crash the bot or the worker. Unreadable ones are ended by JobStore.end_unreadable.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from midway.contract import Job

log = logging.getLogger(__name__)


def parse_job_record(job_id: str, raw: bytes | str | None) -> Job | None:
    """A job's stored record (GET keys.job_key) as a Job, fields of newer releases dropped; None when it
    is gone or unreadable (JobStore.end_unreadable ends such a job)."""
    if raw is None:
        return None
    try:
        return Job.from_record(raw)
    except ValueError as error:
        log.warning("job record %s is unreadable: %s", job_id, " ".join(str(error).split())[:500])
        return None


def record_object(raw: bytes | str | None) -> dict[str, Any] | None:
    """A stored record decoded as a JSON object, without validating it; None when it is not one."""
    try:
        data = json.loads(raw) if raw is not None else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def salvage_job(job_id: str, data: dict[str, Any] | None) -> Job | None:
    """What can be read of an unreadable record (Job.salvage), only if it still names the job."""
    job = Job.salvage({**data, "id": job_id}) if data is not None else None
    return job if job is not None and job.id == job_id else None


def listed_job(raw: bytes | str) -> Job | None:
    """A record for listing a user's jobs (/info, /cancel): read as parse_job_record reads it, else what
    salvage_job reads of it (so the job can still be seen and cancelled), else None: skip it."""
    data = record_object(raw)
    job_id = data.get("id") if data is not None else None
    if not isinstance(job_id, str):
        return None
    return parse_job_record(job_id, raw) or salvage_job(job_id, data)


def record_owner(data: dict[str, Any] | None) -> str | None:
    """The requester's user id named in a record's JSON object, if it names one."""
    requester = data.get("requester") if data is not None else None
    user_id = requester.get("user_id") if isinstance(requester, dict) else None
    return user_id if isinstance(user_id, str) else None
