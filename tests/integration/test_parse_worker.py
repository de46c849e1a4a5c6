"""The parser pool: children parse in parallel, and one file that hangs costs only its own timeout."""

from __future__ import annotations

from codegraph_assets.core.ir_parser import parse_document
from codegraph_assets.stages.parse_worker import IsolatedParser

FILES = {f"mod{i}.py": f"def function_{i}(x):\n    return x + {i}\n\n\nclass Thing{i}:\n    pass\n".encode()
         for i in range(12)}
HANGS = b"(" * 100_000  # tree-sitter's extraction query takes seconds on it


def test_a_pool_of_children_returns_every_file_parsed_as_in_process():
    with IsolatedParser(timeout_s=30, workers=2) as pool:
        outcomes = dict(pool.parse_stream((path, content, "python") for path, content in FILES.items()))
    assert set(outcomes) == set(FILES)
    for path, content in FILES.items():
        assert outcomes[path].document == parse_document(content, "python"), path


def test_a_file_past_the_timeout_fails_alone_and_its_child_is_replaced():
    items = [("hangs.py", HANGS, "python"), *((path, content, "python") for path, content in FILES.items())]
    with IsolatedParser(timeout_s=0.5, workers=2) as pool:
        outcomes = dict(pool.parse_stream(items))
        assert pool.parse(FILES["mod0.py"], "python").document is not None  # the replaced child works
    assert outcomes["hangs.py"].failure == "timeout" and outcomes["hangs.py"].document is None
    assert all(outcomes[path].document is not None for path in FILES)
