"""`python -m pipeline.models list|show VERSION|promote VERSION|history`: the model registry by hand."""

from __future__ import annotations

import argparse
import json

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import environments
from pipeline.cli import StageError, run
from pipeline.settings import get_settings
from sentiment.registry import RegistryError

STAGE = "models"


def format_versions(manifests: list[dict], champion: str | None) -> str:
    lines = [f"{'':2}{'version':<14}{'test acc':>9}{'test auc':>9}  {'created':<26}{'git sha':<10}"]
    for m in manifests:
        test = m.get("metrics", {}).get("test", {})
        mark = "* " if m["version"] == champion else "  "
        acc, auc = test.get("accuracy", float("nan")), test.get("roc_auc", float("nan"))
        created, sha = m.get("created") or "", (m.get("git_sha") or "")[:8]
        lines.append(f"{mark}{m['version']:<14}{acc:>9.4f}{auc:>9.4f}  {created:<26}{sha:<10}")
    lines.append("(* = champion)" if champion else "(no champion yet)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.models", description=__doc__.split(":")[1].strip())
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="published versions with key metrics; * marks the champion")
    commands.add_parser("show", help="a version's manifest").add_argument("version")
    commands.add_parser("promote", help="make a published version the champion").add_argument("version")
    commands.add_parser("history", help="every promotion, oldest first")
    args = parser.parse_args(argv)
    settings = get_settings()
    try:
        registry = environments.current(settings).registry()
        if args.command == "list":
            champion = registry.champion()
            print(format_versions(registry.versions(), champion["version"] if champion else None))
        elif args.command == "show":
            manifest = registry.manifest(args.version)
            if manifest is None:
                raise StageError(f"version {args.version} is not published in bucket {registry.bucket}")
            print(json.dumps(manifest, indent=2))
        elif args.command == "promote":
            champion = registry.promote(args.version, {"promoted_by": "pipeline.models promote"})
            print(f"champion is now {champion['version']} (was {champion['previous']})")
        else:
            for event in registry.history():
                print(f"{event['promoted']}  {event['version']}  (previous {event['previous']})")
    except (BotoCoreError, ClientError, RegistryError) as exc:
        raise StageError(f"model registry s3://{settings.model_bucket}: {exc}") from exc
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
