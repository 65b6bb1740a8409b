"""`python -m pipeline.models list|show V|diff A B|promote V|history|resign V`: the model registry by hand.

`history` answers which version served an environment when: every promotion and rollback with who
promoted (and, in prod, approved) it and from which build; `--at TIME` names the one serving then.
The history is a hash chain (`pipeline.model_registry`): a changed, removed or inserted entry stops it.
`resign` re-signs a version with the current signing key after a key rotation, only if its
signature verifies with the retired public key (docs/explanation/supply-chain.md).
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import environments
from pipeline.errors import StageError, run
from pipeline.model_registry import ModelRegistryWriter
from pipeline.records import Stage
from pipeline.release import promotion
from pipeline.settings import get_settings
from pipeline.supply_chain import model_signer
from pipeline.supply_chain.keys import signing_key
from sentiment import artifact
from sentiment.model_registry import ModelRegistryError, published_version, version_prefix

STAGE = "models"
DECLARATION = Stage(STAGE, inputs="the model registry", outputs="the champion (promote)")


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


def published(model_registry: ModelRegistryWriter, version: str) -> dict[str, Any]:
    """A published version's manifest and training metadata."""
    manifest = model_registry.manifest(published_version(version, "the version"))
    if manifest is None:
        raise StageError(f"version {version} is not published in bucket {model_registry.bucket}")
    metadata = model_registry.get_json(version_prefix(version) + artifact.METADATA_FILE) or {}
    return {"manifest": manifest, "metadata": metadata}


def format_diff(a: str, b: str, left: dict[str, Any], right: dict[str, Any]) -> str:
    """Two versions side by side: metrics (with the change from A to B), data, hyper-parameters, sizes."""
    lines = [f"{'':28}{a:>14}{b:>14}{'B - A':>10}"]
    for split in ("val", "test"):
        for metric in ("accuracy", "roc_auc"):
            x = left["manifest"].get("metrics", {}).get(split, {}).get(metric)
            y = right["manifest"].get("metrics", {}).get(split, {}).get(metric)
            delta = f"{y - x:+10.4f}" if x is not None and y is not None else ""
            lines.append(
                f"{split + ' ' + metric:<28}{x if x is not None else '-':>14}{y if y is not None else '-':>14}{delta}"
            )
    data_a, data_b = left["metadata"].get("data", {}), right["metadata"].get("data", {})
    fingerprints = (str(data_a.get("fingerprint", "-"))[:12], str(data_b.get("fingerprint", "-"))[:12])
    lines.append(f"{'data fingerprint':<28}{fingerprints[0]:>14}{fingerprints[1]:>14}")
    params_a, params_b = left["metadata"].get("hyperparameters", {}), right["metadata"].get("hyperparameters", {})
    for name in sorted(set(params_a) | set(params_b)):
        if params_a.get(name) != params_b.get(name):
            lines.append(f"{'hp ' + name:<28}{params_a.get(name, '-')!s:>14}{params_b.get(name, '-')!s:>14}")
    same = sum(1 for name in set(params_a) & set(params_b) if params_a[name] == params_b[name])
    lines.append(f"{'hp (the same in both)':<28}{same:>14}")
    for name in artifact.SERVING_FILES:
        size_a = left["manifest"]["files"].get(name, {}).get("size", 0) / 1e6
        size_b = right["manifest"]["files"].get(name, {}).get("size", 0) / 1e6
        lines.append(f"{name + ' (MB)':<28}{size_a:>14.2f}{size_b:>14.2f}{size_b - size_a:>+10.2f}")
    return "\n".join(lines)


def format_history(events: list[dict[str, Any]]) -> str:
    lines = [f"{'promoted':<34}{'version':<14}{'kind':<10}{'previous':<14}{'by':<20}{'approved by':<20}build"]
    for e in events:
        lines.append(
            f"{e['promoted']:<34}{e['version']:<14}{e.get('kind', '-'):<10}{e.get('previous') or '-':<14}"
            f"{e.get('promoted_by') or '-':<20}{e.get('approved_by') or '-':<20}{e.get('build_url') or '-'}"
        )
    return "\n".join(lines)


def parse_time(value: str) -> datetime:
    """An ISO 8601 instant; without a zone it is UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r} (e.g. 2026-12-04T21:30:00Z)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def serving_at(events: list[dict[str, Any]], moment: datetime) -> dict[str, Any] | None:
    """The promotion in force at `moment`: the newest one made at or before it."""
    before = [e for e in events if datetime.fromisoformat(e["promoted"]) <= moment]
    return before[-1] if before else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.models", description=__doc__.split(":")[1].strip())
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="published versions with key metrics; * marks the champion")
    commands.add_parser("show", help="a version's manifest").add_argument("version")
    diff = commands.add_parser("diff", help="two versions side by side: metrics, data, hyper-parameters, sizes")
    diff.add_argument("a")
    diff.add_argument("b")
    commands.add_parser("promote", help="make a published version the champion").add_argument("version")
    history = commands.add_parser("history", help="every promotion and rollback, oldest first, with who and when")
    history.add_argument("--at", type=parse_time, help="only the version that served at this ISO 8601 time")
    resign = commands.add_parser("resign", help="re-sign a version with the current key after a key rotation")
    resign.add_argument("version")
    resign.add_argument(
        "--previous-public-key", type=Path, required=True, help="the retired public key its signature must verify with"
    )
    parser.add_argument("--env", choices=["local", "dev", "qa", "prod"], help="another environment's model registry")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.env:
        settings = settings.model_copy(update={"project_env": args.env})
    try:
        model_registry = environments.current(settings).model_registry()
        if args.command == "list":
            champion = model_registry.champion()
            print(format_versions(model_registry.versions(), champion["version"] if champion else None))
        elif args.command == "show":
            print(json.dumps(published(model_registry, args.version)["manifest"], indent=2))
        elif args.command == "diff":
            print(format_diff(args.a, args.b, published(model_registry, args.a), published(model_registry, args.b)))
        elif args.command == "promote":
            champion = model_registry.promote(args.version, {"kind": "manual", **promotion.who(settings)})
            print(f"champion is now {champion['version']} (was {champion['previous']})")
        elif args.command == "resign":
            version = published_version(args.version, "the version to re-sign")
            try:
                previous = args.previous_public_key.read_bytes()
            except OSError as exc:
                key_file = args.previous_public_key
                raise StageError(f"cannot read --previous-public-key {key_file}: {exc.strerror}") from None
            model_signer.resign(model_registry, version, previous, signing_key(settings))
            model_registry.verified_manifest(version)  # with this environment's (new) public key
            print(f"{version} is signed with the new key")
        elif args.at is None:
            print(format_history(model_registry.history()))
        else:
            entry = serving_at(model_registry.history(), args.at)
            if entry is None:
                raise StageError(f"no version served {settings.project_env} at {args.at.isoformat()}")
            print(format_history([entry]))
    except (BotoCoreError, ClientError, ModelRegistryError) as exc:
        raise StageError(f"model registry s3://{settings.model_bucket}: {exc}") from exc
    return 0


if __name__ == "__main__":
    raise SystemExit(run(STAGE, main))
