"""A terminal progress display for an in-process run: one line per step as it starts and ends, and the
progress lines a step logs on the way (the vector step's "embedded N of M chunks").

The run executes in this process; a watcher thread reads the run's events from the instance's event
log (the same records the UI shows) and prints them, so progress never depends on Dagster's log format.
"""

from __future__ import annotations

import sys
import threading
import time

import dagster as dg

from codegraph_assets.assets.targets import INVOCATION_TAG, PROGRESS_PREFIX

_POLL_SECONDS = 0.5  # a display refresh interval, not synchronisation: the run never waits on it
_SYMBOLS = {"STEP_START": "…", "STEP_SUCCESS": "✓", "STEP_FAILURE": "✗", "STEP_SKIPPED": "-",
            "STEP_UP_FOR_RETRY": "↻"}
_STEP_EVENTS = {dg.DagsterEventType(kind) for kind in _SYMBOLS}


class StepProgress:
    """Context manager printing step events of the run tagged with `invocation` while it runs."""

    def __init__(self, instance: dg.DagsterInstance, invocation: str, stream=sys.stderr) -> None:
        self.instance, self.invocation, self.stream = instance, invocation, stream
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._started = time.perf_counter()
        self._run_id: str | None = None
        self._cursor: str | None = None  # the event log position printed up to: each refresh reads only new events

    def __enter__(self) -> StepProgress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._print_new()  # whatever happened after the last refresh

    def _watch(self) -> None:
        while not self._stop.wait(_POLL_SECONDS):
            self._print_new()

    def _print_new(self) -> None:
        if self._run_id is None:
            runs = self.instance.get_runs(filters=dg.RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
            if not runs:
                return
            self._run_id = runs[0].run_id
        page = self.instance.get_records_for_run(self._run_id, cursor=self._cursor)
        self._cursor = page.cursor
        for record in page.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            elapsed = time.perf_counter() - self._started
            if event is not None and event.event_type in _STEP_EVENTS:
                print(f"  [{elapsed:6.1f}s] {_SYMBOLS[event.event_type_value]} {event.step_key}", file=self.stream)
            elif event is None and entry.user_message.startswith(PROGRESS_PREFIX):
                print(f"  [{elapsed:6.1f}s]   {entry.step_key}: {entry.user_message.removeprefix(PROGRESS_PREFIX)}",
                      file=self.stream)
