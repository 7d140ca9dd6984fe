from __future__ import annotations

from portal.insights.charts import bar_chart, line_chart
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.insights.facts import pack, percentile, percentile_of_parts, unpack
from portal.insights.topics import cluster, normalise


def test_normalise_folds_case_accents_and_punctuation():
    assert normalise("Échec d'impression: 3 ACTES!") == ["echec", "impression", "actes"]


def test_similar_questions_group_into_labelled_topics():
    texts = ["Cannot print birth certificate", "Certificate printing fails", "Printer will not print certificate",
             "Account locked", "Locked out of account", "tablet will not sync offline", "sync offline failed", "???"]
    topics = cluster([(t, i, 1) for i, t in enumerate(texts)])
    assert [sorted(t.keys) for t in topics] == [[0, 1, 2], [3, 4], [5, 6]]
    assert "certificate" in topics[0].label and "print" in topics[0].label
    assert set(topics[1].label.split()) == {"account", "locked"}


def test_french_questions_are_stemmed_in_french():
    texts = ["Impossible d'imprimer l'acte", "Je n'arrive pas à imprimer les actes", "imprimer un acte de naissance"]
    topics = cluster([(t, i, 1) for i, t in enumerate(texts)], locale="fr")
    assert len(topics) == 1 and topics[0].size == 3


def test_percentile_interpolates_like_postgresql():
    assert percentile([1, 2, 3, 4, 10], 0.5) == 3
    assert round(percentile([1, 2, 3, 4, 10], 0.9), 6) == 7.6
    assert percentile([], 0.5) is None


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.lists(st.integers(0, 10**6), max_size=30), max_size=6), data=st.data(), p=st.sampled_from([0, 0.1, 0.5, 0.9, 1]))
def test_percentile_of_sorted_parts_less_removed_values_is_exact(parts, data, p):
    """The weekly time lists combined (less the values that changes took out) give the percentile of
    the values that remain, exactly as sorting them all would."""
    everything = [v for part in parts for v in part]
    removed = data.draw(st.lists(st.sampled_from(everything), max_size=len(everything)) if everything else st.just([]))
    removed = list((Counter(removed) & Counter(everything)).elements())
    remaining = list((Counter(everything) - Counter(removed)).elements())
    stored = [unpack(pack(part)) for part in parts]
    assert percentile_of_parts(stored, p, [sorted(removed)]) == percentile(remaining, p)


def test_charts_carry_their_text_alternative_and_escape_labels():
    svg = str(bar_chart("c1", "Tickets <all>", "One bar per category.", [("A & B", 3), ("C", 0)]))
    assert svg.startswith('<svg class="chart"') and 'aria-labelledby="c1-title c1-desc"' in svg
    assert "<title id=\"c1-title\">Tickets &lt;all&gt;</title>" in svg and "A &amp; B" in svg
    line = str(line_chart("c2", "Per week", "Weekly totals.", ["w1", "w2"], [("All", [1, 2])]))
    assert "<polyline" in line and "<desc id=\"c2-desc\">Weekly totals.</desc>" in line
