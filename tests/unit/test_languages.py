import importlib.metadata

import pytest

from codegraph_assets.core.languages import (
    GRAMMARS,
    IR_EXTRACTOR_VERSION,
    PARSEABLE_LANGUAGES,
    language_for_path,
    parser_version,
)


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("pkg/mod.py", "python"),
        ("typeshed/stubs.pyi", "python"),
        ("web/app.js", "javascript"),
        ("web/app.mjs", "javascript"),
        ("web/app.cjs", "javascript"),
        ("web/App.jsx", "javascript"),
        ("web/app.ts", "typescript"),
        ("web/app.mts", "typescript"),
        ("web/app.cts", "typescript"),
        ("web/App.tsx", "tsx"),
        ("cmd/main.go", "go"),
        ("src/main/java/a/Greeter.java", "java"),
        ("src/lib.rs", "rust"),
        ("README.md", "markdown"),
        ("package.json", "json"),
        ("ci.yml", "yaml"),
        ("ci.yaml", "yaml"),
        ("Cargo.toml", "toml"),
        ("build.sh", "shell"),
        ("src/x.c", "c"),
        ("include/x.h", "c"),
        ("src/x.cpp", "cpp"),
        ("lib/x.rb", "ruby"),
        ("docker/Dockerfile", "dockerfile"),
        ("Makefile", "makefile"),
    ],
)
def test_language_for_path_maps_extensions_and_names(path, language):
    assert language_for_path(path) == language


def test_extension_match_ignores_case():
    assert language_for_path("LEGACY/MAIN.PY") == "python"


def test_unknown_or_missing_extension_has_no_language():
    assert language_for_path("assets/logo.png") is None
    assert language_for_path("LICENSE") is None


def test_parseable_languages_are_exactly_the_grammar_backed_ones():
    assert PARSEABLE_LANGUAGES == {"python", "javascript", "typescript", "tsx", "go", "java", "rust"}
    assert "markdown" not in PARSEABLE_LANGUAGES


def test_every_parseable_extension_maps_into_parseable_languages():
    for path in ["a.py", "a.js", "a.ts", "a.tsx", "a.go", "a.java", "a.rs"]:
        assert language_for_path(path) in PARSEABLE_LANGUAGES


def test_parser_version_names_extractor_tree_sitter_and_every_grammar():
    version = parser_version()
    parts = version.split(";")
    assert parts[0] == f"ir={IR_EXTRACTOR_VERSION}"
    assert parts[1] == f"tree-sitter={importlib.metadata.version('tree-sitter')}"
    distributions = sorted({source.distribution for source in GRAMMARS.values()})
    assert parts[2:] == [f"{dist}={importlib.metadata.version(dist)}" for dist in distributions]
    assert len(distributions) == 6  # typescript and tsx share one wheel


def test_parser_version_is_stable_within_a_process():
    assert parser_version() == parser_version()
