"""Which language a path holds, which languages we can parse, and the parser version used as a cache key."""

from __future__ import annotations

import functools
import importlib.metadata
from dataclasses import dataclass
from pathlib import PurePosixPath

# Bump when extraction logic changes in a way that alters the IR for unchanged grammars.
IR_EXTRACTOR_VERSION = "3"  # 3: documents carry the syntax outline the chunker cuts along


@dataclass(frozen=True, slots=True)
class GrammarSource:
    """Where a language's tree-sitter grammar comes from: the wheel and the function returning it."""

    distribution: str  # the PyPI distribution, for its version
    module: str
    function: str


GRAMMARS: dict[str, GrammarSource] = {
    "python": GrammarSource("tree-sitter-python", "tree_sitter_python", "language"),
    "javascript": GrammarSource("tree-sitter-javascript", "tree_sitter_javascript", "language"),
    "typescript": GrammarSource("tree-sitter-typescript", "tree_sitter_typescript", "language_typescript"),
    "tsx": GrammarSource("tree-sitter-typescript", "tree_sitter_typescript", "language_tsx"),
    "go": GrammarSource("tree-sitter-go", "tree_sitter_go", "language"),
    "java": GrammarSource("tree-sitter-java", "tree_sitter_java", "language"),
    "rust": GrammarSource("tree-sitter-rust", "tree_sitter_rust", "language"),
}

PARSEABLE_LANGUAGES: frozenset[str] = frozenset(GRAMMARS)

LANGUAGE_BY_EXTENSION: dict[str, str] = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".java": "java",
    ".rs": "rust",
    # Text-only languages: indexed lexically and chunked, but we have no grammar for them.
    ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown",
    ".rst": "restructuredtext", ".txt": "text",
    ".json": "json", ".jsonc": "json",
    ".yaml": "yaml", ".yml": "yaml",
    ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".xml": "xml", ".html": "html", ".htm": "html",
    ".css": "css", ".scss": "scss", ".less": "less",
    ".sh": "shell", ".bash": "shell", ".zsh": "shell",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hh": "cpp", ".hpp": "cpp", ".hxx": "cpp",
    ".cs": "csharp", ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift", ".scala": "scala",
    ".rb": "ruby", ".php": "php", ".pl": "perl", ".lua": "lua", ".r": "r",
    ".sql": "sql", ".proto": "protobuf", ".graphql": "graphql",
}

# Files recognised by their whole name because they have no telling extension.
LANGUAGE_BY_FILENAME: dict[str, str] = {
    "Dockerfile": "dockerfile",
    "Makefile": "makefile",
    "GNUmakefile": "makefile",
    "CMakeLists.txt": "cmake",
    ".bashrc": "shell",
    ".zshrc": "shell",
}


def language_for_path(path: str) -> str | None:
    """The language name for a repository path, or None when we do not recognise it."""
    name = PurePosixPath(path.replace("\\", "/")).name
    if name in LANGUAGE_BY_FILENAME:
        return LANGUAGE_BY_FILENAME[name]
    return LANGUAGE_BY_EXTENSION.get(PurePosixPath(name).suffix.lower())


@functools.cache
def parser_version() -> str:
    """A stable string naming the extractor, tree-sitter and every grammar version: the IR cache key."""
    parts = [f"ir={IR_EXTRACTOR_VERSION}", f"tree-sitter={importlib.metadata.version('tree-sitter')}"]
    distributions = sorted({source.distribution for source in GRAMMARS.values()})
    parts += [f"{dist}={importlib.metadata.version(dist)}" for dist in distributions]
    return ";".join(parts)
