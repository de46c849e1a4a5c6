"""The four stage handlers of the seed's API: `await handler.execute(payload)` → `JobResult`.

Each one is a front door to the same stage implementation the assets call (`stages/`), with the same
resources; the handler adds payload validation, repository registration in the metadata store, the
stage's timeout and a result object instead of exceptions.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import dagster as dg

from codegraph_assets.config import DEFAULT_CONFIG, IndexingConfig
from codegraph_assets.core.source import SourceSnapshot
from codegraph_assets.errors import CodegraphError, ErrorCode, classify_unexpected
from codegraph_assets.jobs.payloads import IndexingPayload
from codegraph_assets.jobs.results import JobResult, JobState, JobType
from codegraph_assets.registry import validate_repo_name
from codegraph_assets.resource_defs import build_resource_defs
from codegraph_assets.stages.chunk_stage import build_chunks
from codegraph_assets.stages.ir_stage import build_ir
from codegraph_assets.stages.lexical_stage import build_lexical
from codegraph_assets.stages.snapshot import commit_to_index, load_snapshot
from codegraph_assets.stages.stats import StageStats
from codegraph_assets.stages.vector_stage import build_vectors
from resources.git import WORKTREE_SNAPSHOT, parse_location, validate_ref
from resources.metadata_store import RepoRecord


class StageHandler(ABC):
    """Shared flow: validate → register → resolve the snapshot → run the stage within its timeout."""

    job_type: JobType
    timeout_field: str  # the field of IndexingConfig.timeouts that bounds this stage

    def __init__(self, config: IndexingConfig = DEFAULT_CONFIG, *,
                 resources: Mapping[str, dg.ConfigurableResource] | None = None) -> None:
        self.config = config
        self.resources = dict(resources) if resources is not None else build_resource_defs(config)

    async def execute(self, payload: Mapping[str, Any]) -> JobResult:
        """Run the stage for the payload's repo and snapshot; failures come back as a failed result.

        On timeout the result says TIMED_OUT at once; the stage thread cannot be interrupted and
        finishes in the background, publishing nothing until its work is complete.
        """
        try:
            request = IndexingPayload.parse(payload)
            config = request.effective_config(self.config)
            timeout = getattr(config.timeouts, self.timeout_field)
            try:
                return await asyncio.wait_for(asyncio.to_thread(self._run, request, config), timeout)
            except TimeoutError:
                raise CodegraphError(
                    ErrorCode.TIMEOUT, f"{self.job_type.value} of {request.repo_id} ran past {timeout:g}s",
                    input=f"timeouts.{self.timeout_field}", fix=f"raise timeouts.{self.timeout_field}",
                ) from None
        except CodegraphError as error:
            return JobResult.failed(self.job_type, error)
        except (MemoryError, OSError) as unexpected:
            classified = classify_unexpected(unexpected, f"run {self.job_type.value}")
            if classified is None:
                raise
            return JobResult.failed(self.job_type, classified)

    def _run(self, request: IndexingPayload, config: IndexingConfig) -> JobResult:
        started = time.perf_counter()
        with dg.build_resources(self.resources) as resources:
            store, git = resources.metadata.open(), resources.git
            repo = _registered(store, request, config)
            ref = snapshot_ref(request, repo.kind, config)
            commit = commit_to_index(repo, ref, git, config)
            if commit is None:
                return JobResult(self.job_type, JobState.COMPLETED, {"files_total": 0, "commit": None},
                                 warnings=[f"repository {repo.name!r} at {repo.location} has no commits yet"])
            snapshot = load_snapshot(repo, ref, commit, store, git, config)
            stats = self._stage(resources, repo, snapshot, config)
        data = stats.as_dict() | {"commit": commit, "cache_key": self._cache_key(config, request, ref),
                                  "total_duration_s": round(time.perf_counter() - started, 3)}
        warnings = [] if snapshot.indexed() else [f"{repo.name}|{ref} has no indexable files"]
        return JobResult(self.job_type, JobState.COMPLETED, data, warnings=warnings)

    def _cache_key(self, config: IndexingConfig, request: IndexingPayload, ref: str) -> str:
        return config.cache_keys.make_ir_key(request.repo_id, ref)

    @abstractmethod
    def _stage(self, resources, repo: RepoRecord, snapshot: SourceSnapshot, config: IndexingConfig) -> StageStats:
        """Run this handler's stage on a resolved snapshot."""


class IRBuildHandler(StageHandler):
    job_type, timeout_field = JobType.BUILD_IR, "ir_build"

    def _stage(self, resources, repo, snapshot, config):
        return build_ir(repo, snapshot, resources.metadata.open(), resources.git, config)


class LexicalIndexHandler(StageHandler):
    job_type, timeout_field = JobType.LEXICAL_INDEX, "lexical_index"

    def _stage(self, resources, repo, snapshot, config):
        return build_lexical(repo, snapshot, resources.metadata.open(), resources.git, resources.tantivy, config,
                             getattr(resources, "llm", None))


class ChunkBuildHandler(StageHandler):
    job_type, timeout_field = JobType.BUILD_CHUNK, "chunk_build"

    def _stage(self, resources, repo, snapshot, config):
        return build_chunks(repo, snapshot, resources.metadata.open(), resources.git, config, resources.embeddings)

    def _cache_key(self, config, request, ref):
        return config.cache_keys.make_chunk_key(request.repo_id, ref)


class VectorIndexHandler(StageHandler):
    job_type, timeout_field = JobType.VECTOR_INDEX, "vector_index"

    def _stage(self, resources, repo, snapshot, config):
        return build_vectors(snapshot, resources.metadata.open(), resources.qdrant, resources.embeddings, config,
                             getattr(resources, "llm", None))

    def _cache_key(self, config, request, ref):
        return config.cache_keys.make_chunk_key(request.repo_id, ref)


def snapshot_ref(request: IndexingPayload, kind: str, config: IndexingConfig) -> str:
    """A plain directory has one snapshot, its working tree; git repositories use the payload's ref."""
    return WORKTREE_SNAPSHOT if kind == "directory" else request.snapshot(config)


def _registered(store, request: IndexingPayload, config: IndexingConfig) -> RepoRecord:
    """The payload's repository in the store, registered (or re-pointed) on the fly like the seed did."""
    validate_repo_name(request.repo_id)
    location = parse_location(request.repo_path)
    ref = validate_ref(snapshot_ref(request, location.kind, config))
    existing = store.get_repo(request.repo_id)
    if existing and existing.location == location.location and ref in existing.refs:
        return existing
    refs = [*(existing.refs if existing else ()), ref]
    return store.add_repo(request.repo_id, location.location, location.kind, refs)
