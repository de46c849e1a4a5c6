"""Every ErrorCode raised by the real component that produces it, through the handlers."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from codegraph_assets.config import load_indexing_config
from codegraph_assets.core.ir_model import DocumentIR, Span, Symbol
from codegraph_assets.jobs.handlers import (
    CATEGORY_OF,
    ChunkBuildHandler,
    ErrorCategory,
    ErrorCode,
    IRBuildHandler,
    LexicalIndexHandler,
    VectorIndexHandler,
)
from codegraph_assets.resource_defs import build_resource_defs
from codegraph_assets.stages.documents import doc_key
from resources.qdrant_store import QdrantResource

FILES = {"svc/jobs.py": "def schedule_job(name):\n    return name\n"}


def run(handler, payload):
    return asyncio.run(handler.execute(payload))


@pytest.fixture
def repo(codegraph_home, make_repo):
    return make_repo(FILES)


@pytest.fixture
def payload(repo):
    return {"repo_path": str(repo.path), "repo_id": "svc", "snapshot_id": "main"}


def assert_error(result, code: ErrorCode):
    assert not result.success, result
    assert result.error_code is code, result.error
    assert result.error_category is CATEGORY_OF[code]
    assert "Fix:" in result.error


def test_a_missing_tree_object_is_an_ir_build_error(repo, payload):
    tree = repo.git("rev-parse", "HEAD^{tree}")
    Path(repo.path, ".git", "objects", tree[:2], tree[2:]).unlink()
    assert_error(run(IRBuildHandler(), payload), ErrorCode.IR_BUILD_ERROR)


def test_a_missing_blob_is_a_file_access_error(repo, payload):
    blob = repo.git("rev-parse", "HEAD:svc/jobs.py")
    Path(repo.path, ".git", "objects", blob[:2], blob[2:]).unlink()
    result = run(IRBuildHandler(), payload)
    assert_error(result, ErrorCode.FILE_ACCESS_ERROR)
    assert "svc/jobs.py" in result.error


def test_a_sqlite_writer_holding_the_database_is_db_locked(codegraph_home, payload):
    config = load_indexing_config()
    config = config.model_copy(update={"timeouts": config.timeouts.model_copy(update={"db_busy": 0.2})})
    handler = IRBuildHandler(config)
    assert run(handler, payload).success  # creates and migrates the database
    holder = sqlite3.connect(config.metadata_db_path())
    holder.execute("BEGIN EXCLUSIVE")  # another process's long write transaction
    try:
        changed = payload | {"snapshot_id": "main", "repo_id": "svc2"}
        assert_error(run(IRBuildHandler(config), changed), ErrorCode.DB_LOCKED)
    finally:
        holder.rollback()
        holder.close()


def test_an_unreadable_tantivy_meta_file_is_index_corrupted(codegraph_home, payload):
    handler = LexicalIndexHandler()
    assert run(handler, payload).success
    [meta] = handler.resources["tantivy"].partition_dir("svc", "main").glob("*/meta.json")  # the one manifest
    meta.write_text("{ not json")
    assert_error(run(LexicalIndexHandler(), payload), ErrorCode.INDEX_CORRUPTED)


def test_an_index_with_another_schema_is_a_lexical_index_error(codegraph_home, payload):
    import tantivy

    handler = LexicalIndexHandler()
    assert run(handler, payload).success
    # An index written with other fields under the same schema version (someone forgot to bump it).
    [directory] = handler.resources["tantivy"].partition_dir("svc", "main").glob("*/meta.json")
    directory = directory.parent
    built_with = (directory / "codegraph-built-with").read_text()  # it claims this run's settings
    shutil.rmtree(directory)
    directory.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("something_else", stored=True)
    tantivy.Index(builder.build(), path=str(directory))
    (directory / "codegraph-built-with").write_text(built_with)
    assert_error(run(LexicalIndexHandler(), payload), ErrorCode.LEXICAL_INDEX_ERROR)


def test_a_full_disk_under_the_lexical_index_is_disk_full(codegraph_home, make_repo, tmp_path):
    mount_point = tmp_path / "tiny-fs"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=300k", "tmpfs", str(mount_point)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"needs permission to mount a size-limited tmpfs: {mounted.stderr.strip()}")
    try:
        big = {f"gen/module_{i}.py": "".join(f"def handler_{i}_{j}(): return {j}\n" for j in range(400))
               for i in range(20)}
        repo = make_repo(big)
        config = load_indexing_config()
        defaults = config.defaults.model_copy(update={"tantivy_index_dir": str(mount_point)})
        config = config.model_copy(update={"defaults": defaults})
        result = run(LexicalIndexHandler(config, resources=build_resource_defs(config)),
                     {"repo_path": str(repo.path), "repo_id": "big"})
        assert_error(result, ErrorCode.DISK_FULL)
        assert str(mount_point) in result.error
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)  # the failed writer may hold files


def test_an_unreachable_qdrant_server_is_a_qdrant_error(codegraph_home, payload):
    assert run(IRBuildHandler(), payload).success and run(ChunkBuildHandler(), payload).success
    resources = build_resource_defs(load_indexing_config())
    resources["qdrant"] = QdrantResource(url="http://127.0.0.1:9", timeout_s=2)
    assert_error(run(VectorIndexHandler(resources=resources), payload), ErrorCode.QDRANT_ERROR)


class _QdrantAnswering(http.server.BaseHTTPRequestHandler):
    """A Qdrant server's wire as seen by a client it refuses: every request gets `status` and Qdrant's error body
    (no Qdrant server can run here; its REST status codes are what the client classifies)."""

    status = 200

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"status": {"error": f"refused with {self.status}"}, "time": 0.0}).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize(("status", "code", "fix_names"), [
    (401, ErrorCode.VECTOR_INDEX_ERROR, "QDRANT_API_KEY"),  # a wrong key: a retry sends the same key
    (403, ErrorCode.VECTOR_INDEX_ERROR, "QDRANT_API_KEY"),
    (400, ErrorCode.VECTOR_INDEX_ERROR, "version"),  # a request this server refuses, e.g. an older server
    (503, ErrorCode.QDRANT_ERROR, "retries"),  # overloaded or restarting: worth a retry
    (429, ErrorCode.QDRANT_ERROR, "retries"),
])
def test_a_qdrant_server_refusing_the_run_is_retried_only_when_it_may_answer_later(codegraph_home, payload,
                                                                                   status, code, fix_names):
    assert run(IRBuildHandler(), payload).success and run(ChunkBuildHandler(), payload).success
    handler = type("Answering", (_QdrantAnswering,), {"status": status})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        resources = build_resource_defs(load_indexing_config())
        resources["qdrant"] = QdrantResource(url=f"http://ops:hunter2@127.0.0.1:{server.server_port}",
                                             api_key="sk-wrong-key", timeout_s=5)
        result = run(VectorIndexHandler(resources=resources), payload)
    finally:
        server.shutdown()
        server.server_close()
    assert_error(result, code)
    assert str(status) in result.error and fix_names in result.error
    assert "sk-wrong-key" not in result.error and "hunter2" not in result.error


def test_a_collection_of_another_dimension_is_a_vector_index_error(codegraph_home, payload):
    assert run(IRBuildHandler(), payload).success and run(ChunkBuildHandler(), payload).success
    resources = build_resource_defs(load_indexing_config())
    qdrant, embedder = resources["qdrant"], resources["embeddings"]
    client = QdrantClient(path=qdrant.location)
    client.create_collection(qdrant.collection_name(embedder.model_id()),
                             vectors_config=models.VectorParams(size=8, distance=models.Distance.COSINE))
    client.close()
    result = run(VectorIndexHandler(resources=resources), payload)
    assert_error(result, ErrorCode.VECTOR_INDEX_ERROR)
    assert "384-dimensional" in result.error and "8-dimensional" in result.error


def test_ir_that_does_not_match_its_blob_is_a_chunk_build_error(codegraph_home, repo, payload):
    handler = IRBuildHandler()
    assert run(handler, payload).success
    blob = repo.git("rev-parse", "HEAD:svc/jobs.py")
    store = handler.resources["metadata"].open()
    key = doc_key(blob, load_indexing_config())
    wrong = DocumentIR("python", [Symbol("ghost().", "function", "ghost", Span(90, 4, 90, 9), Span(90, 0, 99, 0))],
                       line_count=99)
    with store.engine.begin() as conn:  # replace the stored document, as a buggy extractor would have
        conn.exec_driver_sql("DELETE FROM ir_symbols WHERE doc_key = ?", (key,))
        conn.exec_driver_sql("DELETE FROM ir_documents WHERE doc_key = ?", (key,))
    store.save_documents([(key, blob, "parsed", wrong)])
    result = run(ChunkBuildHandler(), payload)
    assert_error(result, ErrorCode.CHUNK_BUILD_ERROR)
    assert "svc/jobs.py" in result.error


def test_parsed_ir_without_a_syntax_outline_is_a_chunk_build_error_not_line_windows(codegraph_home, repo, payload):
    handler = IRBuildHandler()
    assert run(handler, payload).success
    blob = repo.git("rev-parse", "HEAD:svc/jobs.py")
    store = handler.resources["metadata"].open()
    key = doc_key(blob, load_indexing_config())
    stored = store.load_document(key)
    assert stored.symbols and stored.outline
    # The same symbols and lines, stored without the outline the parse worker always keeps.
    outline_lost = DocumentIR("python", stored.symbols, line_count=stored.line_count)
    with store.engine.begin() as conn:
        for table in ("ir_symbols", "ir_document_graphs", "ir_documents"):
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE doc_key = ?", (key,))
    store.save_documents([(key, blob, "parsed", outline_lost)])
    result = run(ChunkBuildHandler(), payload)
    assert_error(result, ErrorCode.CHUNK_BUILD_ERROR)
    assert "svc/jobs.py" in result.error and "outline" in result.error


def test_running_out_of_memory_is_out_of_memory(codegraph_home, make_repo, tmp_path):
    repo = make_repo({"data/huge.py": "x = 1\n" * 30_000_000})  # 180 MB of source
    script = textwrap.dedent(f"""
        import asyncio, json, resource
        from codegraph_assets.config import load_indexing_config
        from codegraph_assets.jobs.handlers import IRBuildHandler
        config = load_indexing_config()
        config = config.model_copy(update={{"discovery": config.discovery.model_copy(
            update={{"max_file_bytes": 10**9}})}})
        handler = IRBuildHandler(config)
        with open("/proc/self/status") as status:
            vm = next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmSize"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 120 * 2**20, resource.RLIM_INFINITY))
        result = asyncio.run(handler.execute({{"repo_path": {str(repo.path)!r}, "repo_id": "huge"}}))
        print(json.dumps({{"code": result.error_code and result.error_code.value, "error": result.error}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], env=os.environ.copy(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    assert outcome["code"] == "OUT_OF_MEMORY", outcome


def test_every_code_has_its_documented_category():
    assert CATEGORY_OF[ErrorCode.DB_LOCKED] is ErrorCategory.TRANSIENT
    assert CATEGORY_OF[ErrorCode.INDEX_LOCKED] is ErrorCategory.TRANSIENT
    assert CATEGORY_OF[ErrorCode.QDRANT_ERROR] is ErrorCategory.TRANSIENT
    assert CATEGORY_OF[ErrorCode.IO_ERROR] is ErrorCategory.TRANSIENT
    assert CATEGORY_OF[ErrorCode.OUT_OF_MEMORY] is ErrorCategory.INFRASTRUCTURE
    assert CATEGORY_OF[ErrorCode.INDEX_CORRUPTED] is ErrorCategory.INFRASTRUCTURE
    for code in (ErrorCode.IR_BUILD_ERROR, ErrorCode.FILE_ACCESS_ERROR, ErrorCode.PARSE_ERROR,
                 ErrorCode.CHUNK_BUILD_ERROR, ErrorCode.LEXICAL_INDEX_ERROR, ErrorCode.VECTOR_INDEX_ERROR):
        assert CATEGORY_OF[code] is ErrorCategory.PERMANENT
