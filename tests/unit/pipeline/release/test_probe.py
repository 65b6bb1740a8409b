"""The smoke test's over-limit inputs sit one past the service's own limits (imported, not copied)."""

import json

from pipeline.release.probe import BAD_INPUTS
from sentiment.app import MAX_BATCH, MAX_TEXT_CHARS


def test_the_over_limit_inputs_are_one_past_the_services_limits():
    text = json.loads(BAD_INPUTS["text_too_long"][0])["text"]
    texts = json.loads(BAD_INPUTS["too_many_texts"][0])["texts"]
    assert (len(text), len(texts)) == (MAX_TEXT_CHARS + 1, MAX_BATCH + 1)
