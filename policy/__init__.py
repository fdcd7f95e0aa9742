"""免申即享 (benefits without application): the eligibility rule language, matching and 政策演算 simulation.

Sits between the dialogue packages (`assistant`, `ingest`) and `guardrails`; it reads published policy
versions from `kb` and never imports the dialogue.
"""
