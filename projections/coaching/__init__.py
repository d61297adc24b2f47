"""Coaching: one rep's funnel beside the team's, and where they differ (docs/coaching.md).

`funnel` is pure (the numbers of one side, the comparison in words); `queries` reads them from
the coaching views and the projections, one rep at a time.
"""
