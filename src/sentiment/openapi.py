"""The OpenAPI 3.1 document of the service, served at /openapi.json (the fuzz tests generate requests from it)."""

from __future__ import annotations

from typing import Any

from sentiment import __version__

_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ERROR = {"description": "A client error; the body says what is wrong", "content": _ERROR_CONTENT}


def document(
    max_text_chars: int, max_batch: int, max_body_bytes: int, max_total_chars: int, max_normalized_chars: int
) -> dict[str, Any]:
    text = {
        "type": "string",
        "minLength": 1,
        "maxLength": max_text_chars,
        "pattern": r"\S",
        "description": (
            "Read after Unicode NFKD normalisation; a text longer than "
            f"{max_normalized_chars} characters after it is refused with 400 (never trimmed)"
        ),
    }
    prediction = {
        "type": "object",
        "required": ["score", "label", "model_version"],
        "properties": {
            "score": {"type": "number", "minimum": 0, "maximum": 1, "description": "P(positive)"},
            "label": {"enum": ["positive", "negative"]},
            "model_version": {"type": "string"},
        },
    }
    plain = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "sentiment-api", "version": __version__},
        "paths": {
            "/predict": {
                "post": {
                    "summary": f"Score one text or a batch (body at most {max_body_bytes} bytes)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {
                                            "type": "object",
                                            "required": ["text"],
                                            "properties": {"text": text},
                                        },
                                        {
                                            "type": "object",
                                            "required": ["texts"],
                                            "properties": {
                                                "texts": {
                                                    "type": "array",
                                                    "items": text,
                                                    "minItems": 1,
                                                    "maxItems": max_batch,
                                                    "description": (
                                                        f"At most {max_total_chars} characters in all, "
                                                        "before and after NFKD (413 otherwise)"
                                                    ),
                                                }
                                            },
                                        },
                                    ]
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "One prediction, or a list in the order of `texts`",
                            "content": {
                                "application/json": {
                                    "schema": {"oneOf": [prediction, {"type": "array", "items": prediction}]}
                                }
                            },
                        },
                        "400": _ERROR,
                        "413": {
                            "description": (
                                f"The body is over {max_body_bytes} bytes, or the texts hold more than "
                                f"{max_total_chars} characters in all (before or after Unicode NFKD normalisation)"
                            ),
                            "content": _ERROR_CONTENT,
                        },
                        "415": _ERROR,
                        "500": {
                            "description": "The model produced a score that is not a finite number (a broken model)",
                            "content": _ERROR_CONTENT,
                        },
                    },
                },
                "get": {"summary": "Usage text", "responses": {"200": {"description": "usage", **plain}}},
            },
            "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "OK", **plain}}}},
            "/ready": {
                "get": {
                    "summary": "Readiness: the model is loaded",
                    "responses": {"200": {"description": "ready"}, "503": _ERROR},
                }
            },
            "/version": {
                "get": {
                    "summary": "Model and service versions and an opaque release id (no code revision or image)",
                    "responses": {"200": {"description": "versions"}},
                }
            },
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "metrics"}}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI"}}}},
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "status": {"type": "integer"},
                                "title": {"type": "string"},
                                "description": {"type": ["string", "null"]},
                            },
                        }
                    },
                }
            }
        },
    }
