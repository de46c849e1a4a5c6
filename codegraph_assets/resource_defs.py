"""The resources of the code location, built from IndexingConfig and CODEGRAPH_* environment variables.

Profiles: `local` (default: SQLite, Tantivy on disk, Qdrant local mode, the packaged model) and
`prod` (Postgres metadata store, Qdrant server, OpenAI-compatible embeddings) — each piece can also
be switched alone by its variable. Secrets only ever travel as `dg.EnvVar`, resolved by Dagster.
"""

from __future__ import annotations

import os

import dagster as dg

from codegraph_assets.config import IndexingConfig, codegraph_home
from resources.embeddings import EmbeddingResource
from resources.git import GitResource
from resources.llm import LLMResource
from resources.metadata_store import MetadataStoreResource
from resources.qdrant_store import QdrantResource
from resources.tantivy_index import TantivyResource


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resource_defs(config: IndexingConfig) -> dict[str, dg.ConfigurableResource]:
    env = os.environ
    home = codegraph_home()
    return {
        "metadata": MetadataStoreResource(
            backend=env.get("CODEGRAPH_METADATA_BACKEND", "auto"),
            sqlite_path=str(config.metadata_db_path()),
            postgres_dsn=_secret("CODEGRAPH_POSTGRES_DSN"),
            batch_size=config.batch.store_batch_size,
            busy_timeout_s=config.timeouts.db_busy,
        ),
        "git": GitResource(mirrors_dir=str(home / "git"), timeout_s=config.timeouts.git,
                           clone_timeout_s=config.timeouts.git_clone),
        "tantivy": TantivyResource(index_dir=str(config.tantivy_dir()),
                                   writer_heap_bytes=config.lexical.writer_heap_bytes,
                                   min_free_disk_bytes=config.lexical.min_free_disk_bytes),
        "qdrant": QdrantResource(path=str(home / "qdrant"), url=env.get("CODEGRAPH_QDRANT_URL") or None,
                                 api_key=_secret("QDRANT_API_KEY")),
        "embeddings": EmbeddingResource(
            provider=env.get("CODEGRAPH_EMBEDDING_PROVIDER", "local"),
            model=env.get("CODEGRAPH_EMBEDDING_MODEL", config.defaults.embedding_model),
            base_url=env.get("CODEGRAPH_EMBEDDING_BASE_URL") or None,
            api_key=_secret("CODEGRAPH_EMBEDDING_API_KEY"),
            dimensions=int(env["CODEGRAPH_EMBEDDING_DIMENSIONS"]) if env.get("CODEGRAPH_EMBEDDING_DIMENSIONS") else None,
            batch_size=config.batch.vector_batch_size,
            backend=config.embedding.backend,
            threads=config.embedding.threads,
            gpu_batch_size=config.embedding.gpu_batch_size,
            onnx_cache_dir=str(home / "onnx"),
            max_concurrent_requests=config.embedding.max_concurrent_requests,
        ),
        "llm": LLMResource(
            base_url=env.get("CODEGRAPH_LLM_BASE_URL") or None,
            api_key=_secret("CODEGRAPH_LLM_API_KEY"),
            model=env.get("CODEGRAPH_LLM_MODEL", "gpt-4o-mini"),
        ),
    }
