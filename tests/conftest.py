"""Shared fixtures. The real models are trained once per test run (about half a minute each): under
pytest-xdist the first worker that needs one makes it and the others wait for it and reuse it."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A directory `make` fills once per test run and every test reads (none may change it).

    Without xdist that is once per session. Under xdist the workers share the run's temporary root:
    the first to take the lock makes the directory, the others wait and reuse it.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        out = tmp_path_factory.mktemp(name)
        make(out)
        return out
    root = tmp_path_factory.getbasetemp().parent / "made-once"
    root.mkdir(exist_ok=True)
    out, done = root / name, root / f"{name}.done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            make(out)
            done.touch()
    return out


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.ml.hyperparameters import NgramParameters
    from pipeline.ml.training import train

    def make(out: Path) -> None:
        # With its anchors recorded, as `python -m pipeline.train` records them: every gate run over a copy
        # then reads the TF-IDF + logistic regression accuracy instead of fitting it again (tens of seconds
        # each on a busy machine). The zeroed, NaN and BiLSTM models keep the gate's fallback covered.
        train(out / "candidate", NgramParameters())

    return made_once(tmp_path_factory, "model", make) / "candidate"


@pytest.fixture(scope="session")
def bilstm_params():
    """The second architecture at sizes that train in about 20 s on two busy cores."""
    from pipeline.ml.hyperparameters import BiLSTMParameters

    return BiLSTMParameters(max_tokens=3000, sequence_length=32, embedding_dim=16, lstm_units=8, max_epochs=2)


@pytest.fixture(scope="session")
def bilstm_dir(bilstm_params, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.ml.training import train

    def make(out: Path) -> None:
        train(out / "candidate", bilstm_params, with_anchors=False, log=lambda m: None)

    return made_once(tmp_path_factory, "bilstm", make) / "candidate"


@pytest.fixture(scope="session")
def blessed(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the trained model that passed the real gate, and its reports directory."""
    from pipeline.stages.gate import main as gate_main

    def make(root: Path) -> None:
        shutil.copytree(trained_dir, root / "candidate")
        reports = root / "reports"
        assert gate_main(["--model", str(root / "candidate"), "--reports", str(reports), "--no-champion"]) == 0

    root = made_once(tmp_path_factory, "blessed", make)
    return root / "candidate", root / "reports"


def _with_weights(trained_dir: Path, out: Path, change) -> None:
    """The trained model with `change` applied to every weight array, repackaged into `out`."""
    import keras

    from pipeline.ml.training import repackage
    from sentiment import artifact

    model = keras.models.load_model(trained_dir / artifact.KERAS_FILE)
    model.set_weights([change(w) for w in model.get_weights()])
    repackage(trained_dir, model, out)


@pytest.fixture(scope="session")
def zeroed_dir(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model with every weight set to zero: it scores 0.5 for everything."""
    return made_once(tmp_path_factory, "zeroed", lambda out: _with_weights(trained_dir, out, lambda w: w * 0))


@pytest.fixture(scope="session")
def nan_dir(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model with every weight NaN: a broken model whose every score is NaN."""
    import numpy as np

    return made_once(tmp_path_factory, "nan", lambda out: _with_weights(trained_dir, out, lambda w: w * np.nan))


@pytest.fixture(scope="session")
def relaxed_thresholds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real thresholds, every absolute limit and the anchor margin relaxed: only the champion can block."""
    import re

    text = (REPO / "quality_gates" / "thresholds.toml").read_text()
    text = re.sub(r"^min = [0-9.]+$", "min = 0.0", text, flags=re.M)
    text = re.sub(r'^max = [0-9.]+$(?=\nreason = "(?!a new|nor))', "max = 1000000.0", text, flags=re.M)
    text = text.replace("[anchor.tfidf_logreg_margin]\nmin = 0.0", "[anchor.tfidf_logreg_margin]\nmin = -1.0")
    path = tmp_path_factory.mktemp("thresholds") / "relaxed.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="session")
def model(trained_dir: Path):
    from sentiment.runtime import SentimentModel

    return SentimentModel(trained_dir)


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    """The environment for a subprocess run from a scratch directory (no .env there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "PROJECT_", "ARTIFACTS_"))}
    env["HOME"] = str(tmp_path)
    return env
