"""Enrichment core: which functions need a summary, the content key, and one bounded line per reply."""

from __future__ import annotations

from codegraph_assets.core.enrichment import (
    PROMPT_VERSION,
    clean_summary,
    enrichment_tag,
    functions_needing_summary,
    summaries_in_lines,
    summaries_within,
    summarized_embed_key,
    summarized_embed_text,
    summary_key,
)
from codegraph_assets.core.ir_parser import parse_document

SOURCE = '''class Ledger:
    """Money in and out."""

    def post(self, amount):
        """Record one entry."""
        self.total += amount

    def reconcile(self, statement):
        return self.total == statement.total


def settle(ledgers):
    return sum(l.total for l in ledgers)


LIMIT = 3
'''


def _requests(source: str = SOURCE, model: str = "m1", max_function_chars: int = 6000):
    symbols = parse_document(source.encode(), "python").symbols
    return functions_needing_summary(source, symbols, language="python", model=model,
                                     max_function_chars=max_function_chars)


def test_only_functions_and_methods_without_a_docstring_need_a_summary():
    assert [r.symbol_id.split("/")[-1] for r in _requests()] == ["Ledger#reconcile().", "settle()."]


def test_the_prompt_holds_the_function_source_and_the_language():
    settle = _requests()[1]
    assert "def settle(ledgers):" in settle.prompt and "return sum(l.total for l in ledgers)" in settle.prompt
    assert "Language: python" in settle.prompt


def test_a_long_function_is_sent_cut_but_keyed_by_its_whole_text():
    long_body = "def long():\n" + "".join(f"    step_{i} = {i}\n" for i in range(200))
    short, full = _requests(long_body, max_function_chars=100)[0], _requests(long_body)[0]
    assert "step_199" not in short.prompt and "step_199" in full.prompt
    assert short.summary_key == full.summary_key


def test_the_same_function_text_anywhere_has_one_key_and_model_or_text_change_it():
    moved = "\n\n\n" + SOURCE  # other lines, same function text
    assert [r.summary_key for r in _requests(moved)] == [r.summary_key for r in _requests()]
    assert _requests(model="m2")[1].summary_key != _requests()[1].summary_key
    edited = SOURCE.replace("return sum(", "return max(")
    assert _requests(edited)[1].summary_key != _requests()[1].summary_key
    assert summary_key("m1", "python", "x") != summary_key("m1", "go", "x")


def test_the_enrichment_tag_names_prompt_version_and_model():
    assert enrichment_tag("gpt-x") == f"{PROMPT_VERSION}:gpt-x"


def test_a_reply_becomes_its_first_line_without_labels_or_markdown():
    assert clean_summary("\n\n**Summary:** Sums the totals of   all ledgers.\nMore text.", 200) == \
        "Sums the totals of all ledgers."
    assert clean_summary("`Checks the ledger against a statement.`", 200) == "Checks the ledger against a statement."


def test_an_empty_reply_is_no_summary():
    assert clean_summary("", 200) is None
    assert clean_summary("  \n ** \n", 200) is None


def test_a_long_reply_is_cut_at_a_word_within_the_limit():
    cleaned = clean_summary("Reconciles " + "the ledger " * 40, 60)
    assert cleaned is not None and len(cleaned) <= 60 and cleaned.endswith("…")
    assert not cleaned[:-1].endswith(" ") and "ledge…" not in cleaned


def test_a_summarized_chunk_embeds_the_summary_under_a_key_of_its_own():
    assert summarized_embed_text("def f(): pass", ["Does nothing."]) == "Summary: Does nothing.\ndef f(): pass"
    key = summarized_embed_key("c" * 64, ["Does nothing."])
    assert key != "c" * 64 and len(key) == 64
    assert key != summarized_embed_key("c" * 64, ["Does something else."])


def test_a_chunk_reads_the_summaries_of_the_functions_its_lines_meet():
    functions = [(1, 3, "first"), (5, 30, "long"), (32, 33, "last")]
    assert summaries_in_lines(functions, 1, 6) == ["first", "long"]  # small functions merged into one chunk
    assert summaries_in_lines(functions, 10, 20) == ["long"]  # a piece of a long function
    assert summaries_in_lines(functions, 34, 40) == []


def test_only_the_summaries_that_fit_the_reserve_are_kept_in_order():
    def line_tokens(lines):
        return [len(line.split()) for line in lines]  # one token per word, "Summary:" included

    summaries = ["one two three", "four five", "six seven eight nine"]
    assert summaries_within(summaries, line_tokens, 100) == summaries
    assert summaries_within(summaries, line_tokens, 7) == ["one two three", "four five"]  # 4 + 3 words
    assert summaries_within(summaries, line_tokens, 3) == []
    assert summaries_within([], line_tokens, 10) == []
