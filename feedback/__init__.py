"""好差评 (citizens' ratings): ratings, rectification tickets, 误评 disputes and the monthly report.

Same layer as `policy`: below the dialogue, above `guardrails` and `kb`.
"""
