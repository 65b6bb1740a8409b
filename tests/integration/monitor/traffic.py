"""Traffic for the monitoring tests: texts like the sanity set's, and texts from another distribution."""

import json
import random
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SANITY = [json.loads(line)["text"] for line in (REPO / "quality_gates" / "sanity_set.jsonl").read_text().splitlines()]
OTHER_LANGUAGES = [
    "Der Film war wirklich sehr langweilig und viel zu lang.",
    "La película fue maravillosa, me encantó cada minuto.",
    "Ce film est une perte de temps totale, je suis déçu.",
    "这部电影非常好看，我很喜欢。",
    "この映画はとても面白かったです。",
    "Фильм был ужасно скучным и слишком длинным.",
]


def other_distribution(n: int) -> list[str]:
    rng = random.Random(7)
    texts = []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            texts.append(rng.choice(OTHER_LANGUAGES))
        elif kind == 1:
            texts.append(
                f"2026-11-29T21:{i % 60:02d}:13Z ERROR worker[{1000 + i}] id={i * 7919} failed: timeout {i % 30}s"
            )
        else:
            texts.append(" ".join(str(rng.randint(0, 99999)) for _ in range(rng.randint(1, 8))))
    return texts


def send(url: str, texts: list[str]) -> None:
    for text in texts:
        request = urllib.request.Request(
            f"{url}/predict", data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 200
