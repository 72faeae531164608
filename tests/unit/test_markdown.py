"""A Markdown prompt's summary, as the inbox shows it under an event's name."""

from __future__ import annotations

import pytest

from hitlkit._markdown import SUMMARY_HEAD, prompt_summary, render_prompt, summary_head
from hitlkit._options import MAX_PROMPT_LENGTH


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


def test_a_summary_reads_the_prompts_head_only_cut_at_a_line_end() -> None:
    assert summary_head("short\n\nprompt") == "short\n\nprompt"
    lines = "Deploy?\n\n" + "detail line\n" * 1000
    head = summary_head(lines)
    assert len(head) <= SUMMARY_HEAD
    assert head.endswith("detail line\n")
    assert prompt_summary(lines) == "Deploy?"
    one_line = "[" * 20000  # a fifth of a second to parse whole
    assert summary_head(one_line) == "[" * SUMMARY_HEAD
    assert prompt_summary(one_line) == "[" * SUMMARY_HEAD


def test_a_markdown_prompt_longer_than_hitlkit_writes_is_shown_as_text() -> None:
    longest = "**a**" + "x" * (MAX_PROMPT_LENGTH - 5)
    assert str(render_prompt(longest, "markdown")).startswith("<p><strong>a</strong>x")
    too_long = longest + "x"
    assert str(render_prompt(too_long, "markdown")) == too_long
    assert render_prompt("**a** <b>", "markdown") is render_prompt("**a** <b>", "markdown")
