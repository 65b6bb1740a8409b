"""The FastAPI + uvicorn peer for `python -m bench serve`: what most users would write, serving the same
LiteRT artifact through the same `sentiment.runtime` code as the service.

`uvicorn bench.fastapi_app:app --workers 2` with MODEL_DIR set (as FastAPI's deployment docs start it).
Plain `def` endpoints, so FastAPI runs them in its thread pool; each thread gets its own interpreter.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from pydantic import BaseModel

from sentiment.runtime import SentimentModel

model = SentimentModel(Path(os.environ.get("MODEL_DIR", "artifacts/candidate")))
app = FastAPI(title="sentiment (bench peer)")


class PredictIn(BaseModel):
    text: str


@app.post("/predict")
def predict(body: PredictIn) -> dict:
    return model.predict([body.text])[0]


@app.get("/health")
def health() -> str:
    return "OK"


@app.get("/ready")
def ready() -> dict:
    return {"ready": True, "model_version": model.version}
