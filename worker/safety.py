"""The safety filter on the worker (issue 21): every image job's outputs, scored in one batched pass.

The checker (MIDWAY_SAFETY_CHECKER) is loaded once per process and shared by every runner in it; its
scores and flags go on the job's record and its `done` event (Job.safety_*), and the bot applies each
server's policy to them (bot/safety_policy.py). The filter fails closed: a checker that cannot load or
raises marks every image of the job flagged and unchecked, so the job is still delivered (spoilered or
refused with the reason, per the server's policy) and never passes unfiltered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PIL.Image import Image
from rq.timeouts import JobTimeoutException

from midway.catalogue import load_catalogue
from midway.errors import CatalogueError
from midway.settings import Settings

if TYPE_CHECKING:
    from engines.safety import SafetyClassifier

log = logging.getLogger(__name__)

OFF = "off"
AUTO = "auto"

# source -> the loaded classifier, or the reason it could not load: one load per process, whatever the
# number of runners (tests build many).
_loaded: dict[str, SafetyClassifier | str] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class SafetyVerdict:
    """What the filter said about one job's images, as JobStore.finish takes it."""

    scores: list[float] = field(default_factory=list)
    flagged: list[bool] = field(default_factory=list)
    failed: bool = False

    def fields(self) -> dict[str, Any]:
        return {"safety_scores": self.scores, "safety_flagged": self.flagged, "safety_failed": self.failed}


def checker_source(settings: Settings, engines: Iterable[str]) -> str | None:
    """The checker to load, None for `off`. `auto` takes the CompVis checker when any engine this worker
    serves is a real (non-tiny) catalogue engine, the tiny one otherwise: offline `midway up` and the tests
    run the same code path on random weights."""
    from engines.safety import COMPVIS_SAFETY_CHECKER
    from engines.tiny.cache import TINY_SAFETY_CHECKER

    value = settings.safety_checker.strip()
    if value.lower() == OFF:
        return None
    if value.lower() != AUTO:
        return value
    try:
        catalogue = load_catalogue(settings.catalogue)
    except CatalogueError:
        return COMPVIS_SAFETY_CHECKER  # cannot tell: the real checker, never a random one by mistake
    real = [name for name in engines if name in catalogue and not catalogue.get(name).is_tiny]
    return COMPVIS_SAFETY_CHECKER if real else TINY_SAFETY_CHECKER


class SafetyFilter:
    """Scores images against `threshold` with the checker from `source` (None: the filter is off)."""

    def __init__(self, source: str | None, threshold: float, settings: Settings) -> None:
        self.source = source
        self.threshold = threshold
        self.settings = settings

    @classmethod
    def for_worker(cls, settings: Settings, engines: Iterable[str]) -> SafetyFilter:
        return cls(checker_source(settings, engines), settings.safety_threshold, settings)

    def load(self) -> str | None:
        """Load the checker now (a worker does before taking jobs); the reason when it cannot."""
        if self.source is None:
            return None
        with _lock:
            if self.source not in _loaded:
                _loaded[self.source] = self._open(self.source)
            loaded = _loaded[self.source]
        return loaded if isinstance(loaded, str) else None

    def check(self, images: list[Image]) -> SafetyVerdict:
        """Every image scored in one pass; score > threshold is flagged, as SafetyClassifier.flagged decides."""
        if self.source is None or not images:
            return SafetyVerdict()
        reason = self.load()
        loaded = _loaded.get(self.source)
        try:
            if reason is not None or loaded is None or isinstance(loaded, str):
                raise RuntimeError(reason or "the safety checker is not loaded")
            scores = loaded.scores(images)
        except JobTimeoutException:
            raise  # the job's own time is up: RQ's timeout must still stop it
        except Exception as error:
            log.warning("safety checker %s failed (%s); flagging all %d images of the job unchecked",
                        self.source, error, len(images))
            return SafetyVerdict(flagged=[True] * len(images), failed=True)
        return SafetyVerdict(scores=scores, flagged=[score > self.threshold for score in scores])

    def _open(self, source: str) -> SafetyClassifier | str:
        from engines.safety import open_safety_checker

        try:
            classifier = open_safety_checker(source, self.settings.state_dir)
        except Exception as error:  # a missing download must not stop the worker: jobs fail closed instead
            log.error("cannot load the safety checker %r: %s; every image will be flagged unchecked until it "
                      "loads (download it, point MIDWAY_SAFETY_CHECKER at a folder, or set it to off)", source, error)
            return str(error) or type(error).__name__
        log.info("safety checker %s loaded (threshold %.2f)", source, self.threshold)
        return classifier
