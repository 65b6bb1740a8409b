"""`python -m sentiment predict TEXT...` scores a text with the local model artifact;
`python -m sentiment serve` runs the service (see sentiment.serve)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    from sentiment import serve

    parser = argparse.ArgumentParser(prog="python -m sentiment", description="Sentiment model command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    predict = commands.add_parser("predict", help="score a text (words are joined with spaces)")
    predict.add_argument("text", nargs="+", help="the text to score, e.g. have a nice day!")
    predict.add_argument(
        "--model", type=Path, help="model artifact directory (default: MODEL_DIR or artifacts/candidate)"
    )
    predict.add_argument("--json", action="store_true", help="print the API's JSON instead of a line")
    serving = commands.add_parser(
        "serve",
        help="run the API server (Granian by default, or gunicorn)",
        description="Run the API server. Each setting: the flag, else SERVE_<NAME>, else GUNICORN_<NAME>, "
        "else the default.",
    )
    serve.add_arguments(serving)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        # Imports nothing of the service: the model loads in the server's workers, never here.
        from sentiment import serve

        return serve.main(args)
    return predict(args)


def predict(args: argparse.Namespace) -> int:
    from sentiment.app import startup_error
    from sentiment.artifact import ArtifactError
    from sentiment.loader import load_model
    from sentiment.settings import get_settings

    try:
        settings = get_settings()
        if args.model is not None:
            settings = settings.model_copy(update={"model_dir": args.model})
        model = load_model(settings)
    except (ArtifactError, OSError, ValueError) as exc:  # ValueError includes pydantic's ValidationError
        print(f"sentiment: cannot start: {startup_error(exc)}", file=sys.stderr)
        return 2
    text = " ".join(args.text)
    if not text.strip():
        print("sentiment: the text is empty", file=sys.stderr)
        return 2
    result = model.predict([text])[0]
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['score']:.4f} {result['label']}  (model {result['model_version']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
