"""Every search mode honours the query language and answers at function or chunk precision, on a real
index (git, Dagster, Tantivy, Qdrant local, the packaged model)."""

from __future__ import annotations

import pytest
from indexing import Indexer

PAYMENTS = '''"""Payments."""


def refund_payment(payment_id, reason):
    """Give the customer their money back."""
    ledger = open_ledger()
    ledger.credit(payment_id, reason)
    return ledger.commit()


def charge_card(card, amount):
    """Take money from a credit card."""
    return card.charge(amount)
'''
BILLING_GO = '''package billing

// RefundPayment gives the customer their money back.
func RefundPayment(paymentID string, reason string) error {
	ledger := OpenLedger()
	ledger.Credit(paymentID, reason)
	return ledger.Commit()
}
'''
TEST_PAYMENTS = '''from payments import refund_payment


def test_refund_payment_credits_the_ledger():
    assert refund_payment("p1", "damaged")
'''
FILES = {"payments.py": PAYMENTS, "billing/refund.go": BILLING_GO, "tests/test_payments.py": TEST_PAYMENTS}


@pytest.fixture(scope="module")
def indexer(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CODEGRAPH_HOME", str(home / "codegraph"))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    from conftest import GitRepo

    repo = GitRepo(home / "repo")
    repo.commit(FILES, "initial")
    built = Indexer()
    built.register("shop", str(repo.path), ["main"])
    assert built.materialize("shop", "main").result.success
    yield built
    monkeypatch.undo()


@pytest.mark.parametrize("mode", ["lexical", "vector", "hybrid"])
def test_language_and_path_filters_apply_in_every_mode(indexer, mode):
    go_hits = indexer.search("give the customer a refund lang:go", "shop", "main", mode, limit=10)
    assert go_hits and {h.path for h in go_hits} == {"billing/refund.go"}
    outside_tests = indexer.search("refund payment -path:tests/", "shop", "main", mode, limit=10)
    assert outside_tests and not any(h.path.startswith("tests/") for h in outside_tests)


@pytest.mark.parametrize("mode", ["lexical", "vector", "hybrid"])
def test_a_hit_is_the_function_with_its_lines_symbol_and_snippet(indexer, mode):
    top = indexer.search("give the customer their money back lang:python -path:tests", "shop", "main", mode)[0]
    assert top.path == "payments.py" and top.start_line <= 4 and 8 <= top.end_line < 11  # not charge_card's lines
    assert top.symbol == "payments.py/refund_payment()."
    assert "def refund_payment(payment_id, reason):" in top.snippet
    if mode != "vector":
        assert top.kind == "function"


def test_a_phrase_is_required_in_vector_hits_too(indexer):
    hits = indexer.search('money "credit card"', "shop", "main", "vector", limit=10)
    assert [h.symbol for h in hits] == ["payments.py/charge_card()."]


def test_sym_finds_the_definition_by_name_without_other_words(indexer):
    hits = indexer.search("sym:RefundPayment", "shop", "main", "hybrid")
    assert [(h.path, h.start_line) for h in hits] == [("billing/refund.go", 3)]
