"""Source texts a learner may give: empty, blank, only images or sound, binary, far too long, right-to-left,
CJK. Each ends with a clear error and no request spent, or with cards."""

from __future__ import annotations

import pytest

from addon.pipeline import Source
from addon.pipeline.workflow.chunking import split_text, word_pieces

from .fake_openai import FakeOpenAI
from .pipeline_crew import FIVE_TOPICS, Crew, run, source_of

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t  ", '<img src="chart.png"> [sound:lecture.mp3]', "<div><br></div>&nbsp;", "\x00\x01\x02"],
)
def test_a_text_without_words_ends_at_once_with_a_clear_error(fake_openai: FakeOpenAI, text: str) -> None:
    result = run(fake_openai, Crew(), [Source(text=text)])

    assert result.cards == [] and fake_openai.requests == []
    assert [(e.step, e.message) for e in result.errors] == [("text", "The text has no words to learn from.")]


def test_sources_without_words_are_left_out_and_named(fake_openai: FakeOpenAI) -> None:
    sources = [Source(text="<img src='a.png'>", note_id=42), Source(text=FIVE_TOPICS, note_id=43)]
    result = run(fake_openai, Crew(cards_per_topic=1), sources)

    assert len(result.cards) == 5 and {card.provenance.source_note_id for card in result.cards} == {43}
    assert [e.message for e in result.errors] == ["Note 42 has no words to learn from."]


def test_control_characters_never_reach_the_server(fake_openai: FakeOpenAI) -> None:
    crew = Crew(cards_per_topic=1)
    result = run(fake_openai, crew, [Source(text="## Binary\x00\x07 data\x1b[0m read as text.\n")])

    assert len(result.cards) == 1
    assert source_of(crew.requests("TopicAnalysis")[0]) == "## Binary data[0m read as text."


def test_a_text_beyond_the_runs_budget_is_cut_and_said_so(fake_openai: FakeOpenAI) -> None:
    section = (
        "## Topic {n}\n" + "Traders compare the reading of this indicator with last week. " * 40 + "\n\n"
    )
    text = "".join(section.format(n=n) for n in range(400))  # 1 MB
    crew = Crew(cards_per_topic=1)
    result = run(fake_openai, crew, [Source(text=text)], max_requests_per_run=40)

    assert result.cards and len(fake_openai.requests) <= 40
    analysed = "".join(source_of(request) or "" for request in crew.requests("TopicAnalysis"))
    assert len(analysed) < len(text) / 10
    (cut,) = [e.message for e in result.errors if e.step == "text"]
    assert cut.startswith("The text is too long for one run (at most 40 requests): cards were made from its")
    assert cut.endswith(" of 161,200 words; give the rest in another run.")


@pytest.mark.parametrize(
    "text",
    [
        "## التمثيل الضوئي\nتحول النباتات ضوء الشمس إلى سكر. هل تعرف كيف؟ يحدث ذلك في البلاستيدات الخضراء.\n",
        "## פוטוסינתזה\nצמחים הופכים אור לסוכר. זה קורה בכלורופלסטים.\n",
        "## 光合作用\n植物把光能转化为化学能。这个过程发生在叶绿体中！\n",
        "## 光合成\n植物は光を糖に変える。葉緑体で起こる。\n",
    ],
)
def test_right_to_left_and_cjk_texts_make_cards(fake_openai: FakeOpenAI, text: str) -> None:
    crew = Crew(cards_per_topic=2)
    result = run(fake_openai, crew, [Source(text=text)])

    assert len(result.cards) == 2 and not result.errors
    assert (source_of(crew.requests("TopicAnalysis")[0]) or "").strip() == text.strip()
    topic = text.splitlines()[0].removeprefix("## ")
    assert all(topic in card.fields["Front"] for card in result.cards)


def test_cjk_is_counted_a_token_a_character() -> None:
    text = "机器学习是人工智能的一个分支。" * 400
    assert len(word_pieces(text)) == len(text)
    assert len(split_text(text, 4096)) >= len(text) // 1024
