"""`codegraph search`: one query, or many from a JSONL file in one process.

Queries use the lexical query language of every mode: free words, "phrases" and path:/lang:/sym: filters
(see core/lexical_query.py)."""

from __future__ import annotations

import json

from codegraph_assets.cli.context import cli_resources
from codegraph_assets.core.hits import SearchHit, best_window
from codegraph_assets.core.lexical_query import parse_query
from codegraph_assets.errors import CodegraphError, ErrorCode
from codegraph_assets.search import CodeSearch
from resources.metadata_store import MetadataStore

_SHOWN_LINES = 6  # of each hit's snippet, in the plain-text listing (--json prints it whole)


def run(args) -> int:
    if not args.query and not args.queries_file:
        raise CodegraphError(ErrorCode.INVALID_PAYLOAD, "no query given", input="codegraph search",
                             fix="pass QUERY or --queries-file FILE")
    with cli_resources() as (config, _defs, resources):
        store = resources.metadata.open()
        repo, snapshot = _default_partition(store, args.repo, args.snapshot)
        # Many queries in one process: a local store's partition vectors are loaded once and each query is a
        # matrix product (serving/vector_matrix.py), instead of Qdrant local mode scanning every point per
        # query. One query alone is cheaper through Qdrant than a load.
        search = CodeSearch(store, resources.tantivy, resources.qdrant, resources.embeddings, config,
                            vectors_in_memory=bool(args.queries_file) and not resources.qdrant.url)
        if args.queries_file:
            for qid, query in _read_queries(args.queries_file):
                hits = search.search(query, repo=repo, snapshot=snapshot, mode=args.mode, limit=args.limit)
                print(json.dumps({"qid": qid, "hits": [h.to_json() for h in hits]}))
            return 0
        hits = search.search(args.query, repo=repo, snapshot=snapshot, mode=args.mode, limit=args.limit)
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2))
        return 0
    if not hits:
        print(f"no hits for {args.query!r} in {repo}|{snapshot}")
    words = parse_query(args.query).ranking_text()  # without filters (lang:, path:), which no line holds
    for rank, hit in enumerate(hits, 1):
        symbol = f"  {hit.kind or 'code'} {hit.symbol}" if hit.symbol else ""
        print(f"{rank:2}. {hit.path}:{hit.start_line}-{hit.end_line}  score={hit.score:.4f}{symbol}")
        if hit.summary:
            print(f"        summary: {hit.summary}")
        for number, line in shown_lines(hit, words):
            print(f"  {number:5} {line}")
    return 0


def shown_lines(hit: SearchHit, words: str) -> list[tuple[int, str]]:
    """(line number, text) of the _SHOWN_LINES of a hit's snippet the listing prints: from just above the line
    that holds most of the query's `words` (the top lines when none does), so a hit whose match sits deep in
    a long chunk still shows it."""
    lines = hit.snippet.split("\n")
    first = hit.snippet_start_line or hit.start_line
    start = 0
    if len(lines) > _SHOWN_LINES:
        best_first, _ = best_window(hit.snippet, words, 1)
        start = min(best_first - 1, len(lines) - _SHOWN_LINES)
    return list(enumerate(lines[start:start + _SHOWN_LINES], first + start))


def _default_partition(store: MetadataStore, repo: str | None, snapshot: str | None) -> tuple[str, str]:
    """--repo/--snapshot, or the only registered repository and its only ref."""
    if repo is None:
        repos = store.list_repos()
        if len(repos) != 1:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{len(repos)} repositories are registered",
                                 input="--repo", fix="pass --repo NAME (see `codegraph repo list`)")
        repo = repos[0].name
    if snapshot is None:
        record = store.get_repo(repo)
        if record is None:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"repository {repo!r} is not registered", input="--repo",
                                 fix="pass a name `codegraph repo list` shows, or `codegraph index` the repository")
        if len(record.refs) != 1:
            raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"cannot choose a snapshot of {repo!r}",
                                 input="--snapshot", fix="pass --snapshot REF (see `codegraph repo list`)")
        snapshot = record.refs[0]
    return repo, snapshot


def _read_queries(path: str):
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                yield str(item["qid"]), str(item["query"])
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise CodegraphError(ErrorCode.INVALID_PAYLOAD, f"{path}:{number} is not a {{qid, query}} object",
                                     input=f"{path}:{number}", fix='one JSON object per line: {"qid": "1", '
                                     '"query": "..."}') from exc
