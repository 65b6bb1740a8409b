"""The seed's approach, kept only as a benchmark baseline: Keras `model.predict` on every request.

`gunicorn -c python:sentiment.gunicorn_conf bench.naive_app:api` with MODEL_DIR set.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import falcon
import keras

from pipeline.ml import architectures
from sentiment.artifact import KERAS_FILE, VOCABULARY_FILE, architecture, read_metadata
from sentiment.runtime import decision_threshold, label_for

_dir = Path(os.environ.get("MODEL_DIR", "artifacts/candidate"))
_model = keras.models.load_model(_dir / KERAS_FILE)
_metadata = read_metadata(_dir)
_architecture = architectures.get(architecture(_metadata)[0])
_state = _architecture.load_state(_dir / VOCABULARY_FILE)
_threshold = decision_threshold(_metadata)


class NaivePredict:
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        text = json.loads(req.bounded_stream.read())["text"]
        score = float(_model.predict(_architecture.keras_inputs(_state, [text]), verbose=0)[0, 0])
        resp.media = {"score": score, "label": label_for(score, _threshold)}


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.text = "OK"


api = falcon.App()
api.add_route("/predict", NaivePredict())
api.add_route("/health", Health())
