"""Code-aware tokens, the lexical query language, and reciprocal rank fusion."""

from __future__ import annotations

import pytest

from codegraph_assets.core.hits import SearchHit, best_window, reciprocal_rank_fusion, snippet
from codegraph_assets.core.lexical_query import parse_query
from codegraph_assets.core.text_lines import split_lines
from codegraph_assets.core.tokenizing import code_tokens, compound_identifiers, identifier_parts, words
from codegraph_assets.errors import CodegraphError, ErrorCode


def test_camel_case_identifiers_keep_the_whole_and_split_into_words():
    assert code_tokens("parseHTTPResponse") == ["parsehttpresponse", "parse", "http", "response"]


def test_snake_case_identifiers_split_at_underscores():
    assert code_tokens("retry_failed_upload()") == ["retry_failed_upload", "retry", "failed", "upload"]


def test_single_words_are_not_repeated():
    assert code_tokens("return total") == ["return", "total"]
    assert identifier_parts("total") == []


def test_overlong_runs_are_dropped():
    assert code_tokens("a" * 200 + " ok") == ["ok"]


def test_words_split_identifiers_in_order_and_compounds_stay_whole_apart():
    assert words("if parseHTTPResponse(raw_bytes): return") == ["if", "parse", "http", "response", "raw", "bytes",
                                                                 "return"]
    assert compound_identifiers("if parseHTTPResponse(raw_bytes): return") == ["parsehttpresponse", "raw_bytes"]
    assert words("HTTPServer2xx") == ["http", "server", "2", "xx"]


def test_a_query_splits_into_words_identifiers_phrases_and_filters():
    query = parse_query('retry parseHTTPResponse "failed upload" path:src/net lang:ts -path:tests sym:Uploader')
    assert query.words == ("retry", "parse", "http", "response")
    assert query.identifiers == ("parsehttpresponse",)
    assert query.phrases == (("failed", "upload"),)
    assert query.languages == ("typescript",)  # an extension names its language
    assert query.symbols == ("uploader",)
    assert query.ranking_text() == "retry parseHTTPResponse failed upload"


def test_path_filters_are_case_insensitive_substrings_or_globs():
    query = parse_query("x path:Net/ path:*.py")
    assert query.admits("src/net/retry.py", "python", None, "x")
    assert not query.admits("src/web/retry.ts", "typescript", None, "x")
    assert not parse_query("x path:*.py").admits("src/a.pyc", None, None, "x")
    assert not parse_query("x -path:tests").admits("tests/test_a.py", None, None, "x")


def test_hits_found_another_way_must_contain_the_phrases_and_name_the_symbol():
    query = parse_query('"failed upload" sym:retry')
    assert query.admits("a.py", "python", "a.py/Uploader#retry().", "log('failed upload')")
    assert not query.admits("a.py", "python", "a.py/Uploader#retry().", "upload failed")
    assert not query.admits("a.py", "python", "a.py/Uploader#send().", "failed upload")


@pytest.mark.parametrize(("text", "wrong"), [('say "hello', "opens a quote"), ("x lang:cobol99", "names no language"),
                                              ("x path:", "has no value")])
def test_malformed_queries_are_invalid_payloads_naming_the_fix(text, wrong):
    with pytest.raises(CodegraphError) as error:
        parse_query(text)
    assert error.value.code is ErrorCode.INVALID_PAYLOAD
    assert wrong in error.value.problem and error.value.fix


def _hit(path, start, end, source):
    return SearchHit(path, start, end, 1.0, None, "", None, source)


def test_rrf_rewards_hits_found_by_both_rankings_and_shows_the_chunk():
    lexical = [_hit("a.py", 1, 10, "lexical"), _hit("b.py", 1, 5, "lexical")]
    vector = [_hit("b.py", 2, 4, "vector"), _hit("c.py", 1, 3, "vector")]
    fused = reciprocal_rank_fusion([(lexical, 1.0), (vector, 1.0)], k=60, limit=10, show_from=1)
    assert fused[0].path == "b.py"
    assert (fused[0].start_line, fused[0].end_line) == (2, 4)  # the vector side's chunk
    assert [h.path for h in fused] == ["b.py", "a.py", "c.py"]


def test_a_group_shows_its_best_placed_chunk_not_a_neighbour_it_chained_in():
    lexical = [_hit("a.py", 21, 25, "lexical")]  # the neighbour g, as a lexical unit
    vector = [_hit("a.py", 5, 25, "vector"), _hit("a.py", 10, 20, "vector")]  # f merged with g, then f alone
    fused = reciprocal_rank_fusion([(lexical, 1.0), (vector, 1.0)], k=60, limit=10, show_from=1)
    assert [(h.start_line, h.end_line) for h in fused] == [(5, 25)]


def test_a_function_found_as_a_unit_and_as_two_chunks_is_one_result_scored_once_per_ranking():
    lexical = [_hit("a.py", 10, 80, "lexical"), _hit("b.py", 1, 9, "lexical")]
    vector = [_hit("a.py", 10, 40, "vector"), _hit("a.py", 41, 80, "vector"), _hit("b.py", 1, 9, "vector")]
    fused = reciprocal_rank_fusion([(lexical, 1.0), (vector, 1.0)], k=60, limit=10, show_from=1)
    assert [(h.path, h.start_line, h.end_line) for h in fused] == [("a.py", 10, 40), ("b.py", 1, 9)]
    assert fused[0].score == round(1 / 61 + 1 / 61, 6)  # the second chunk adds nothing
    assert fused[1].score == round(1 / 62 + 1 / 63, 6)


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
