"""Which way each feature may move the risk, declared once for every trained kind.

A coach reads a factor as "this pushed the risk up (or down)". A fit left free trades weights of
either sign between correlated features, and then "far less activity than peers" can read as
lowering the risk. So where the direction is known, the ``logistic`` kind holds each coefficient
to it and the ``boosted`` kind each step function; where it is not, the data decides.
"""

#: Direction of each feature's effect on the risk (+1 more means riskier, -1 more means safer,
#: 0 left to the data). A feature missing here is a test failure: each new one needs a decision.
MONOTONE_DIRECTIONS: dict[str, int] = {
    "days_inactive": 1,
    "active_days_ratio": -1,
    "activity_trend": -1,
    "assessment_mean": -1,
    "assessment_count": -1,
    # Rising time on task can mean engagement or struggle: the data decides.
    "time_trend": 0,
    "social": -1,
    "progress_gap": 1,
    # "Little data yet" is a policy (hold back from flagging), not a direction to enforce.
    "new_learner": 0,
    # Engagement since enrolment: more of it, of any kind, means less risk.
    "events_log": -1,
    "events_vs_peers": -1,
    "active_days_log": -1,
    "active_days_vs_peers": -1,
    "active_share": -1,
    "first_week_events_log": -1,
    "activity_span_share": -1,
    "logins_log": -1,
    "content_log": -1,
    "videos_log": -1,
    "lessons_log": -1,
    "assessments_log": -1,
    "forum_log": -1,
}
