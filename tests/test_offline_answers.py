"""Offline answers fit the task the prompt sets, deterministically, so prompts, scale-out, comparisons and
evals can be judged without a key: labels from the prompt's own list, quotes from the given text, valid
JSON, a translation or a summary that reads as one; anything else keeps the generic offline answer."""
from __future__ import annotations

import json

REVIEWS = ["Great product, arrived on time", "Broken on arrival, want a refund", "It is a lamp",
           "Works, I love it", "Terrible support and slow delivery", "A box with a cable in it",
           "Bought it on Monday", "The colour is blue", "Came in a bag"]


def test_a_classification_over_rows_picks_one_of_the_prompts_labels_per_row(nb, offline):
    nb.ns["reviews"] = REVIEWS
    nb.run("labels = ['positive', 'negative', 'mixed']")
    ran = nb.run("%%chat --over reviews -o first\nClassify this review as one of {labels}: {item}")
    assert ran.error is None, ran.error
    answers = list(nb.ns["first"])
    assert set(answers) <= {"positive", "negative", "mixed"} and len(set(answers)) >= 2, answers
    assert answers[:2] == ["positive", "negative"] and answers[3:5] == ["positive", "negative"]  # its cues
    again = nb.run("%%chat --over reviews -o second --no-cache\nClassify this review as one of {labels}: {item}")
    assert again.error is None and list(nb.ns["second"]) == answers  # deterministic
    nb.run("%%chat --over reviews -m gpt-4.1-mini -o other\nClassify this review as one of {labels}: {item}")
    assert list(nb.ns["other"]) != answers  # another model reads the unclear rows its own way


def test_an_eval_of_a_sentiment_classification_scores_between_none_and_all(nb, offline):
    nb.run("import pandas as pd\n"
           "rows = pd.DataFrame({'text': ['I love it', 'It broke', 'Fine I guess', 'Late again', 'Perfect', 'A lamp'],"
           " 'label': ['positive', 'negative', 'neutral', 'negative', 'positive', 'neutral']})")
    ran = nb.run("%%eval --data rows --expect label --grader equals -o ev\nClassify the sentiment: {text}")
    assert ran.error is None, ran.error
    rows = nb.ns["ev"].rows
    assert set(rows["answer"]) <= {"positive", "negative", "neutral"}
    passed = int(nb.ns["ev"].scoreboard["passed"].iloc[0])
    assert 0 < passed < 6


def test_a_question_about_a_given_text_quotes_from_it(nb, offline):
    text = "The Eiffel Tower was finished in 1889. It is 330 metres tall. It stands on the Champ de Mars in Paris."
    answer = nb.run(f"%%chat --no-stream\nText: {text}\nWhen was the Eiffel Tower finished?").result.text
    assert "offline" in answer and "“The Eiffel Tower was finished in 1889.”" in answer


def test_a_request_for_json_is_valid_json(nb, offline):
    answer = nb.run("%%chat --no-stream\nDescribe Lyon as JSON with keys name, country and population.").result.text
    value = json.loads(answer)
    assert set(value) == {"name", "country", "population", "offline"} and value["offline"] is True


def test_a_translation_and_a_summary_read_as_one(nb, offline):
    translated = nb.run("%chat --no-stream Translate to French: The cat sleeps on the mat.").result.text
    assert translated == "En français (offline translation): « The cat sleeps on the mat. »"
    summary = nb.run("%%chat --no-stream\nSummarise this:\nThe committee met on Tuesday to discuss the budget. "
                     "It approved three projects and postponed two. The next meeting is in May.").result.text
    assert summary.startswith("**Summary (offline):** The committee met on Tuesday to discuss the budget.")


def test_a_prompt_that_sets_no_such_task_keeps_the_generic_offline_answer(nb, offline):
    answer = nb.run("%chat --no-stream What is a p-value?").result.text
    assert answer.startswith("### Offline answer") and "You asked: *What is a p-value?*" in answer
