"""The Falcon WSGI application: `create_app` takes a loaded model (tests build one freely; `sentiment.wsgi`
loads the model and builds the served one).

Every error, including unknown routes and unexpected exceptions, is a JSON body
{"error": {"status": ..., "title": ..., "description": ...}}; bad input is a 4xx.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import unicodedata
from datetime import datetime
from typing import Any

import falcon
from pydantic import ValidationError

from sentiment import __version__, emf, metrics, openapi
from sentiment.limits import MAX_BATCH, MAX_BODY_BYTES, MAX_NORMALIZED_CHARS, MAX_TEXT_CHARS, MAX_TOTAL_CHARS
from sentiment.runtime import SentimentModel

USAGE = f"""POST /predict with a JSON body and Content-Type: application/json

  {{"text": "a wonderful film"}}             -> {{"score": 0.97, "label": "positive", "model_version": "..."}}
  {{"texts": ["great", "awful", ...]}}       -> a list of those (at most {MAX_BATCH} texts)

Texts are non-empty strings of at most {MAX_TEXT_CHARS} characters; bodies at most {MAX_BODY_BYTES} bytes.
A batch holds at most {MAX_TOTAL_CHARS} characters in all, before and after Unicode NFKD normalisation
(more is refused with 413).
Texts are read after Unicode NFKD normalisation; a text that grows past {MAX_NORMALIZED_CHARS}
characters under it (e.g. long runs of ligature symbols) is refused with 400, never trimmed.
"""

log = logging.getLogger("sentiment")


def _bad(description: str) -> falcon.HTTPBadRequest:
    return falcon.HTTPBadRequest(title="Invalid request", description=description)


def _read_json(req: falcon.Request) -> Any:
    if req.content_type is None or req.content_type.split(";")[0].strip().lower() != "application/json":
        raise falcon.HTTPUnsupportedMediaType(description="Content-Type must be application/json")
    if req.content_length is not None and req.content_length > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description=f"body exceeds {MAX_BODY_BYTES} bytes")
    raw = req.bounded_stream.read(MAX_BODY_BYTES + 1)
    metrics.body_read(req)
    if len(raw) > MAX_BODY_BYTES:
        raise falcon.HTTPContentTooLarge(description=f"body exceeds {MAX_BODY_BYTES} bytes")
    if not raw:
        raise _bad("request body is empty; expected a JSON object")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad("body is not valid UTF-8") from exc
    except (ValueError, RecursionError) as exc:  # ValueError also covers numbers over 4,300 digits
        raise _bad(f"body is not valid JSON: {exc}") from exc


def _check_text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a string")
    if not value.strip():
        raise _bad(f"{where} must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise _bad(f"{where} is longer than {MAX_TEXT_CHARS} characters")
    return value


def _check_normalized(text: str, where: str) -> int:
    """The text's length after NFKD; a 400 when it grows past MAX_NORMALIZED_CHARS."""
    # ASCII is its own normal form. Other texts pay one NFKD pass in C here, so that one growing
    # past the cap is refused before standardize() walks it character by character in Python.
    if text.isascii():
        return len(text)
    length = len(unicodedata.normalize("NFKD", text))
    if length > MAX_NORMALIZED_CHARS:
        raise _bad(f"{where} grows past {MAX_NORMALIZED_CHARS} characters under Unicode NFKD normalisation")
    return length


def _too_many_characters(total: int, after: str = "") -> falcon.HTTPContentTooLarge:
    return falcon.HTTPContentTooLarge(
        title="Batch too large",
        description=f'"texts" hold {total} characters in all{after}; at most {MAX_TOTAL_CHARS} are allowed per request',
    )


def parse_predict_body(body: Any) -> tuple[list[str], bool]:
    """Return (texts, is_batch) or raise a 400 (413 for too many characters in all) naming the problem."""
    if not isinstance(body, dict):
        raise _bad('expected a JSON object with "text" or "texts"')
    if ("text" in body) == ("texts" in body):
        raise _bad('give exactly one of "text" or "texts"')
    if "text" in body:
        text = _check_text(body["text"], '"text"')
        _check_normalized(text, '"text"')
        return [text], False
    texts = body["texts"]
    if not isinstance(texts, list) or not texts:
        raise _bad('"texts" must be a non-empty list of strings')
    if len(texts) > MAX_BATCH:
        raise _bad(f'"texts" has {len(texts)} items; at most {MAX_BATCH} are allowed')
    checked = [_check_text(t, f'"texts"[{i}]') for i, t in enumerate(texts)]
    total = sum(map(len, checked))
    if total > MAX_TOTAL_CHARS:
        raise _too_many_characters(total)
    # What scoring costs grows with the characters it reads, after normalisation: the cap holds there too.
    normalized = sum(_check_normalized(text, f'"texts"[{i}]') for i, text in enumerate(checked))
    if normalized > MAX_TOTAL_CHARS:
        raise _too_many_characters(normalized, " after Unicode NFKD normalisation")
    return checked, True


class Predict:
    def __init__(self, model: SentimentModel, emf_recorder: emf.Recorder | None = None) -> None:
        self.model = model
        self.emf = emf_recorder

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = USAGE

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            texts, is_batch = parse_predict_body(_read_json(req))
        except falcon.HTTPError as exc:
            metrics.observe_rejection(exc.status_code, exc.description)
            if self.emf is not None:
                self.emf.rejected()
            raise
        results = self.model.predict(texts)
        features = metrics.observe_texts(texts, self.model.token_stats)
        metrics.observe_predictions(results)
        if self.emf is not None:
            self.emf.scored(features, results)
        if not all(math.isfinite(r["score"]) for r in results):
            # NaN is not JSON, and a broken model's answer must not reach a client as a label.
            raise falcon.HTTPInternalServerError(
                title="Model failure",
                description="the model produced a score that is not a finite number; no answer is given "
                "(counted in sentiment_nonfinite_scores_total)",
            )
        resp.media = results if is_batch else results[0]


class Health:
    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.content_type = falcon.MEDIA_TEXT
        resp.text = "OK"


class Ready:
    def __init__(self, model: SentimentModel | None) -> None:
        self.model = model

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self.model is None:
            raise falcon.HTTPServiceUnavailable(description="model not loaded")
        resp.media = {"ready": True, "model_version": self.model.version}


class OpenAPI:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.doc


class Version:
    def __init__(self, info: dict[str, str]) -> None:
        self.info = info

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = self.info


def _serialize_error(req: falcon.Request, resp: falcon.Response, exc: falcon.HTTPError) -> None:
    # Always JSON, whatever the client's Accept header says.
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps({"error": {"status": exc.status_code, "title": exc.title, "description": exc.description}})


def _unexpected(req: falcon.Request, resp: falcon.Response, exc: Exception, params: dict[str, Any]) -> None:
    if isinstance(exc, falcon.HTTPError):
        raise exc
    log.exception("unhandled error on %s %s", req.method, req.path)
    raise falcon.HTTPInternalServerError(description="internal error; see the service log")


def image_without_registry(reference: str) -> str:
    """`repository:tag` of an image reference (an ECR host names the AWS account)."""
    host, slash, rest = reference.partition("/")
    return rest if slash and ("." in host or ":" in host or host == "localhost") else reference


def release_id(image_ref: str) -> str:
    """What /version shows of the image: an opaque 16-hex id of `repository:tag` (its SHA-256), which smoke
    can check against the image it deployed. /version is public: the image tag holds the code's git
    revision, and its registry host the AWS account; neither is shown."""
    return hashlib.sha256(image_without_registry(image_ref).encode()).hexdigest()[:16] if image_ref else ""


def created_timestamp(metadata: dict[str, Any]) -> float | None:
    """The model's training time (metadata `created`, ISO 8601) as Unix time; None when absent or unreadable."""
    try:
        return datetime.fromisoformat(str(metadata["created"])).timestamp()
    except (KeyError, ValueError):
        return None


def create_app(
    model: SentimentModel,
    image_ref: str = "",
    emf_service: str | None = None,
    emf_interval_s: float = emf.INTERVAL_S,
) -> falcon.App:
    """The API; with `emf_service`, this worker also writes CloudWatch EMF lines (sentiment.emf) of that
    Service every emf_interval_s."""
    model_created = created_timestamp(model.metadata)
    emf_recorder = None if emf_service is None else emf.Recorder(emf_service, model.version, model_created)
    app = falcon.App(middleware=[metrics.RequestMetrics(), *([emf_recorder] if emf_recorder else [])])
    if emf_recorder is not None:
        emf_recorder.start(emf_interval_s)
    metrics.set_model(model.version, model_created)
    metrics.WORKERS.set(1)
    app.req_options.strip_url_path_trailing_slash = True
    app.set_error_serializer(_serialize_error)
    app.add_error_handler(Exception, _unexpected)
    # Public, so only what a client may know: which model answers (each /predict says so too) and an
    # opaque id of the release; no code revision, image, registry or training date.
    version_info = {"model_version": model.version, "service_version": __version__, "release": release_id(image_ref)}
    app.add_route("/predict", Predict(model, emf_recorder))
    app.add_route("/health", Health())
    app.add_route("/ready", Ready(model))
    app.add_route("/version", Version(version_info))
    app.add_route("/metrics", metrics.Metrics(model_created))
    doc = openapi.document(MAX_TEXT_CHARS, MAX_BATCH, MAX_BODY_BYTES, MAX_TOTAL_CHARS, MAX_NORMALIZED_CHARS)
    app.add_route("/openapi.json", OpenAPI(doc))
    return app


def startup_error(exc: BaseException) -> str:
    """One line saying why the service cannot start: each bad setting by its variable, else the error."""
    if isinstance(exc, ValidationError):
        problems = []
        for error in exc.errors(include_url=False):
            name = ".".join(str(part) for part in error["loc"])
            name = name.upper() if exc.title == "Settings" else f"{exc.title}.{name}"  # settings come from variables
            shown = repr(error.get("input"))
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            problems.append(f"{name or exc.title}={shown}: {error['msg']}")
        line = "invalid settings: " + "; ".join(problems)
    elif isinstance(exc, OSError | ValueError) and not type(exc).__module__.startswith("sentiment"):
        line = f"{type(exc).__name__}: {exc}"  # the type says what kind of failure the bare message is
    else:
        line = str(exc) or type(exc).__name__
    return " ".join(line.split())  # messages of other libraries can hold newlines
