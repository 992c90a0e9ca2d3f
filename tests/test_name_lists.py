"""mlops_infra.name_lists: the one way a message writes a list of names."""

from __future__ import annotations

from mlops_infra.diagnostics import known_list
from mlops_infra.name_lists import NAMES_SHOWN, join_names

NAMES = [f"e{i:03}" for i in range(100)]


def test_up_to_seven_names_are_a_plain_join() -> None:
    """Byte-identical to the joins the messages wrote before: ``, `` throughout, or the last two by ``last``."""
    assert join_names([]) == ""
    assert join_names(["a"]) == "a" and join_names(["a"], last=" and ") == "a"
    assert join_names(["a", "b"], last=" and ") == "a and b"
    assert join_names(["a", "b", "c"], last=" or ") == "a, b or c"
    for count in range(1, NAMES_SHOWN + 2):
        assert join_names(NAMES[:count]) == ", ".join(NAMES[:count])


def test_past_seven_names_the_first_six_and_how_many_more() -> None:
    assert join_names(NAMES) == "e000, e001, e002, e003, e004, e005 and 94 more"
    assert join_names(NAMES[:8], last=" and ") == "e000, e001, e002, e003, e004, e005 and 2 more"
    assert len(join_names(NAMES * 10)) < 60


def test_a_caller_may_show_fewer_or_more() -> None:
    """``most`` names, or ``most + 1`` written whole (``and 1 more`` hides nothing): spec/image_accounts's summary
    (three) and plan/namespace_quotas (ten) keep their counts."""
    assert join_names(NAMES[:4], 3, last=" and ") == "e000, e001, e002 and e003"
    assert join_names(NAMES[:5], 3, last=" and ") == "e000, e001, e002 and 2 more"
    assert join_names(NAMES[:11], 10) == ", ".join(NAMES[:11])
    assert join_names(NAMES[:12], 10) == ", ".join(NAMES[:10]) + " and 2 more"


def test_known_list_is_a_caller_quoting_sorting_and_saying_or() -> None:
    """diagnostics.known_list: the same text up to its limit (12) of names; past it, the first twelve and how many
    more, no longer '... "k" or "l" and 88 more' (an "or" before the count)."""
    assert known_list(["b", "a", "c"]) == '"a", "b" or "c"' and known_list([]) == "(none defined)"
    assert known_list(["a"]) == '"a"'
    assert known_list(NAMES[:12]) == ", ".join(f'"{n}"' for n in NAMES[:11]) + ' or "e011"'
    assert known_list(NAMES) == ", ".join(f'"{n}"' for n in NAMES[:12]) + " and 88 more"


def test_names_that_hold_commas_are_joined_by_a_semicolon() -> None:
    assert join_names(["a (x, y)", "b (z)"], sep="; ") == "a (x, y); b (z)"
    assert join_names(NAMES, sep="; ") == "; ".join(NAMES[:6]) + " and 94 more"


def test_the_merged_copies_write_their_lists_with_it() -> None:
    """The copies that wrote 'the first N, then how many more' themselves (render/human totals, apply/engine's pending
    operations, promote/contracts' artifact files): same text up to their N, a list of N + 1 whole (no more
    'and 1 more'), and promote's ', and N more' is ' and N more' as everywhere else."""
    from mlops_infra.apply.engine import PENDING_NAMED, _named
    from mlops_infra.promote.contracts import SHOWN, _some
    from mlops_infra.render.human import _items

    assert _items(("a", "b", "c")) == "a, b, c" and _items(("a", "b", "c", "d")) == "a, b, c, d"
    assert _items(tuple(NAMES)) == "e000, e001, e002 and 97 more"
    pending = [("aws:s3/bucket:Bucket", f"urn:pulumi:dev::p::aws:s3/bucket:Bucket::b{i}", "creating") for i in range(6)]
    assert PENDING_NAMED == 5 and _named(pending) == (
        " (" + ", ".join(f"creating aws:s3/bucket:Bucket b{i}" for i in range(6)) + ")")
    assert _named(pending * 2).endswith("creating aws:s3/bucket:Bucket b4 and 7 more)")
    assert SHOWN == 6 and _some(NAMES) == "100 file(s): " + ", ".join(NAMES[:6]) + " and 94 more"
