"""Where a rep differs most from the team, said in words (pure)."""

from __future__ import annotations

from kpiflow.projections.coaching.funnel import Side, StageFunnel, differences


def side(**stages) -> Side:
    return Side("x", tuple(StageFunnel(name, *numbers) for name, numbers in stages.items()))


def test_the_stage_that_takes_longest_compared_with_the_team_comes_first():
    rep = side(proposal=(12, 9, 3, 0, 9.6), meeting=(10, 7, 3, 0, 2.0), qualified=(5, 4, 1, 0, 1))
    team = side(
        proposal=(40, 30, 10, 0, 4.0), meeting=(30, 21, 9, 0, 2.2), qualified=(20, 16, 4, 0, 1)
    )
    found = differences(rep, team)
    assert [d.text for d in found] == [
        "deals stay 2.4x longer in proposal than the team's median (median 9.6 vs 4.0 days, over "
        "12 and 40 stays)"
    ]


def test_forward_share_and_faster_stays_and_at_most_two_stages():
    rep = side(
        qualified=(10, 4, 6, 0, 3.0),  # 40% forward vs 80%: -40 points
        meeting=(8, 6, 2, 0, 1.0),  # 2x faster
        proposal=(6, 4, 2, 0, 6.6),  # 1.65x longer (ln 1.65 = 0.50)
    )
    team = side(
        qualified=(50, 40, 10, 0, 3.0), meeting=(40, 30, 10, 0, 2.0), proposal=(30, 20, 10, 0, 4.0)
    )
    found = differences(rep, team)
    # bottlenecks first: qualified 0.40 / 0.50 x ln 2 = 0.55, proposal ln 1.65 = 0.50; the rep's
    # faster meeting stays (ln 2 = 0.69) are not a bottleneck, so they wait
    assert [(d.stage, d.kind) for d in found] == [("qualified", "forward"), ("proposal", "time")]
    assert found[0].text == (
        "fewer deals move forward from qualified: 40% vs the team's 80% (lost 60% vs 20%, over 10 "
        "and 50 stays)"
    )
    assert found[1].text.startswith("deals stay 1.6x longer in proposal")
    # with no bottleneck at all, the favourable differences are said
    better = side(meeting=(8, 6, 2, 0, 1.0), qualified=(10, 9, 1, 0, 3.0))
    said = differences(better, team)
    assert [(d.stage, d.bottleneck) for d in said] == [("meeting", False)]
    assert said[0].text.startswith("deals move through meeting 2.0x faster than the team's")


def test_small_numbers_and_small_differences_say_nothing():
    rep = side(proposal=(2, 0, 2, 0, 30.0), meeting=(10, 7, 3, 0, 2.5))
    team = side(proposal=(40, 30, 10, 0, 4.0), meeting=(40, 30, 10, 0, 2.0))
    assert differences(rep, team) == []  # 2 stays are too few; 1.25x and 5 points are small
