"""Code-aware tokens and reciprocal rank fusion."""

from __future__ import annotations

from codegraph_assets.core.hits import SearchHit, best_window, reciprocal_rank_fusion, snippet
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.tokenizing import code_tokens, identifier_parts


def test_camel_case_identifiers_keep_the_whole_and_split_into_words():
    assert code_tokens("parseHTTPResponse") == ["parsehttpresponse", "parse", "http", "response"]


def test_snake_case_identifiers_split_at_underscores():
    assert code_tokens("retry_failed_upload()") == ["retry_failed_upload", "retry", "failed", "upload"]


def test_single_words_are_not_repeated():
    assert code_tokens("return total") == ["return", "total"]
    assert identifier_parts("total") == []


def test_overlong_runs_are_dropped():
    assert code_tokens("a" * 200 + " ok") == ["ok"]


def _hit(path, start, end, source):
    return SearchHit(path, start, end, 1.0, None, "", None, source)


def test_rrf_rewards_hits_found_by_both_rankings():
    lexical = [_hit("a.py", 1, 10, "lexical"), _hit("b.py", 1, 5, "lexical")]
    vector = [_hit("b.py", 2, 4, "vector"), _hit("c.py", 1, 3, "vector")]
    fused = reciprocal_rank_fusion([(lexical, 1.0), (vector, 1.0)], k=60, limit=10)
    assert fused[0].path == "b.py"
    assert (fused[0].start_line, fused[0].end_line) == (2, 4)  # the tighter range wins
    assert [h.path for h in fused] == ["b.py", "a.py", "c.py"]


def test_rrf_weights_shift_the_order():
    lexical = [_hit("a.py", 1, 2, "lexical")]
    vector = [_hit("b.py", 1, 2, "vector")]
    fused = reciprocal_rank_fusion([(lexical, 0.5), (vector, 2.0)], k=60, limit=10)
    assert [h.path for h in fused] == ["b.py", "a.py"]


def test_best_window_centres_on_the_line_matching_most_query_words():
    text = "\n".join(["x = 1"] * 10 + ["def parse_http_response(raw):"] + ["y = 2"] * 10)
    assert best_window(text, "http response", 2) == (9, 13)


def test_best_window_counts_lines_as_the_index_does_not_at_form_feeds():
    text = "\f\n" + "x = '\u2028'\n" * 9 + "def parse_http_response(raw):\n" + "y = 2\n" * 10
    assert best_window(text, "http response", 2) == (9, 13)
    assert split_lines(text)[10] == "def parse_http_response(raw):"


def test_split_lines_breaks_at_newlines_only():
    assert split_lines("a\fb\vc\x1cd\x85e\u2028f\u2029g") == ["a\fb\vc\x1cd\x85e\u2028f\u2029g"]
    assert split_lines("a\nb\nc\n") == ["a", "b", "c"]
    assert split_lines("a\nb\nc") == ["a", "b", "c"]


def test_split_lines_drops_one_carriage_return_per_line():
    assert split_lines("a\r\nb\r\n") == ["a", "b"]
    assert split_lines("a\r\r\nb\rc") == ["a\r", "b\rc"]


def test_split_lines_of_empty_and_newline_only_text():
    assert split_lines("") == []
    assert split_lines("\n") == [""]
    assert split_lines("\n\n") == ["", ""]
    assert split_lines("\r\n") == [""]


def test_snippet_joins_the_inclusive_range():
    lines = ["one", "two", "three", "four"]
    assert snippet(lines, 2, 3, 80) == "two\nthree"
    assert snippet(lines, 3, 10, 80) == "three\nfour"


def test_snippet_cuts_long_lines_to_the_limit_with_an_ellipsis():
    lines = ["short", "m" * 600_000, "x" * 10]
    assert snippet(lines, 1, 3, 10) == "short\n" + "m" * 9 + "…\n" + "x" * 10
