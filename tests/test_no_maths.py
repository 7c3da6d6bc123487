"""Every figure in every view is out of the maths typesetter's reach: JupyterLab, Notebook 7 and nbviewer
typeset the text between two `$` as maths ("0.00047𝑝𝑒𝑟𝑒𝑝𝑜𝑐ℎ…"), so no view's HTML holds a bare `$`, and each
marks itself for MathJax to skip."""
from __future__ import annotations

import re

import pytest

CONVERSATIONS = ("examples = [{'messages': [{'role': 'user', 'content': f'Question {i}'}, "
                 "{'role': 'assistant', 'content': f'Answer {i}'}]} for i in range(12)]")

VIEWS = {
    "usage": ["%%chat --no-stream\nhi", "%openai usage"],
    "usage by model": ["%%chat --no-stream\nhi", "%openai usage --by model"],
    "over": ["rows = ['a', 'b']", "%%chat --over rows\nSay {item}"],
    "compare": ["%%chat --compare gpt-4o-mini,gpt-4o\nhi"],
    "embed": ["%%embed\nriver\nbank"],
    "image": ["%%image -m dall-e-2 --size 256x256\na fox"],
    "speech": ["%%speak -m tts-1\nHello there."],
    "eval": ["import pandas as pd\nrows = pd.DataFrame({'text': ['I love it', 'It broke'], 'label': ['positive', 'negative']})",
             "%%eval --data rows --expect label --grader equals\nClassify the sentiment: {text}"],
    "finetune prepare": [CONVERSATIONS, "%openai finetune prepare examples"],
    "moderation": ["%moderate a harmless sentence"],
    "dry run": ["%%chat --dry-run\nhi"],
    "chat": ["%%chat --no-stream\nWhat costs $5 and $6?"],
}


@pytest.mark.parametrize("cells", list(VIEWS.values()), ids=list(VIEWS))
def test_no_view_leaves_a_dollar_for_the_maths_typesetter(nb, offline, cells):
    for cell in cells:
        ran = nb.run(cell)
        assert ran.error is None, (cell, ran.error)
    htmls = [bundle["text/html"] for bundle in ran.outputs if "text/html" in bundle]
    markdowns = [bundle["text/markdown"] for bundle in ran.outputs if "text/markdown" in bundle]
    assert htmls or markdowns, ran.outputs
    for shown in htmls:
        assert "$" not in shown.replace("data:", ""), shown[:300]
        assert "mathjax_ignore" in shown and "tex2jax_ignore" in shown, shown[:300]
    for shown in markdowns:  # an answer's own maths is typeset on purpose; the figures under it are not
        for figures in re.findall(r"<sub\b.*?</sub>", shown, re.S) or [shown.rsplit("\n\n", 1)[-1]]:
            assert "$" not in figures and "mathjax_ignore" in figures, figures
