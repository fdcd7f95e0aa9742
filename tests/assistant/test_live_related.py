"""The assistant's view of related knowledge follows publishing (first start included)."""

from __future__ import annotations


def test_knowledge_published_after_the_assistant_was_built_is_used(sample_container: object) -> None:
    """First start: the assistant is built before the bootstrap ingests the sample KB. Its related-items table
    is live (per knowledge generation), so a matter's FAQs count from the first question, not the next start."""
    from assistant.qa import matter_items

    deps = sample_container.assistant.deps  # type: ignore[attr-defined]
    assert len(deps.related) > 0
    assert "faq-hpf-rent-times" in matter_items(deps, deps.registry.matter("m-hpf-withdraw-rent"))
