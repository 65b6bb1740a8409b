"""The stages of the chain, one module each; `python -m pipeline.<stage>` runs one, `python -m pipeline` all.

Each module declares what it reads and writes (`DECLARATION = Stage(...)`, pipeline.records). The order
of the chain follows from those declarations: a stage runs after the producers of what it reads, visited
in the order it lists them (depth first from the stages whose records no other stage reads). Adding a
stage is its module here, its step in the Jenkinsfile and its tests.
"""

from __future__ import annotations

import importlib
import pkgutil

from pipeline.records import RecordType, Stage


def declared(package: str = __name__) -> list[Stage]:
    """The declaration of every module of `package` (`pipeline.stages` or `pipeline.commands`), by name.
    Modules are imported by name so that this package imports none of its stages."""
    found = []
    for info in sorted(pkgutil.iter_modules(importlib.import_module(package).__path__), key=lambda i: i.name):
        declaration = getattr(importlib.import_module(f"{package}.{info.name}"), "DECLARATION", None)
        if not isinstance(declaration, Stage) or declaration.name != info.name:
            raise TypeError(f"{package}.{info.name} declares no DECLARATION = Stage({info.name!r}, ...)")
        found.append(declaration)
    return found


def in_order(stages: list[Stage]) -> list[Stage]:
    """The stages in the order they run: each after the producers of what it reads."""
    producer: dict[RecordType, Stage] = {}
    for stage in stages:
        for record in stage.writes:
            if record in producer:
                raise TypeError(f"{record.__name__} is written by both {producer[record].name} and {stage.name}")
            producer[record] = stage
    read_by_others = {record for stage in stages for record in stage.reads if producer.get(record) is not stage}
    ordered: list[Stage] = []
    visiting: set[str] = set()

    def visit(stage: Stage) -> None:
        if stage in ordered:
            return
        if stage.name in visiting:
            raise TypeError(f"the stages' reads and writes form a cycle through {stage.name}")
        visiting.add(stage.name)
        for record in stage.reads:
            if record in producer and producer[record] is not stage:
                visit(producer[record])
        ordered.append(stage)

    for stage in stages:
        if not set(stage.writes) & read_by_others:
            visit(stage)
    return ordered


def names() -> list[str]:
    """The stage names in the order `python -m pipeline` and the Jenkinsfile run them."""
    return [stage.name for stage in in_order(declared())]
