"""A Markdown prompt's summary, as the inbox shows it under an event's name."""

from __future__ import annotations

import pytest

from hitlkit._markdown import prompt_summary


@pytest.mark.parametrize(
    ("prompt", "summary"),
    [
        ("Deploy?\n\n- a\n- b", "Deploy?"),
        (
            "Deploy **now** to `prod`?\n\n| stage | traffic |\n|---|---|\n| canary | 5% |",
            "Deploy now to prod?",
        ),
        ("Line one\nline &amp; two\n\nMore details.", "Line one line & two"),
        # A heading is a title: the paragraph after it says what is asked.
        ("# Rollout\n\nDeploy **now**?\n\n- canary", "Rollout: Deploy now?"),
        ("## Only a heading", "Only a heading"),
        # A list first: its items, kept apart (nested lists and later paragraphs left out).
        ("- a\n- b\n  - nested\n\n  more of b", "a; b"),
        ("1. one\n2. two\n\nThen this.", "one; two"),
        ("> Quoted question?\n\nDetails.", "Quoted question?"),
        ("```\nmake deploy\n```\n\nRun it?", "make deploy"),
        ("![diagram](x.png) and [the plan](https://example.com)", "diagram and the plan"),
        ("<b>raw</b> html", "<b>raw</b> html"),  # shown as text, escaped by the page
        ("---", ""),
        ("", ""),
    ],
)
def test_a_markdown_prompt_is_summarized_by_its_first_paragraph(prompt: str, summary: str) -> None:
    assert prompt_summary(prompt) == summary
