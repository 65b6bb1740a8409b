"""Shared fixtures. The real model is trained once per session (about half a minute)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.ml.hyperparameters import HyperParameters
    from pipeline.ml.training import train

    out = tmp_path_factory.mktemp("model") / "candidate"
    train(out, HyperParameters(), with_anchors=False)
    return out


@pytest.fixture(scope="session")
def bilstm_params():
    """The second architecture at sizes that train in about 20 s on two busy cores."""
    from pipeline.ml.hyperparameters import BiLSTMParameters

    return BiLSTMParameters(max_tokens=3000, sequence_length=32, embedding_dim=16, lstm_units=8, max_epochs=2)


@pytest.fixture(scope="session")
def bilstm_dir(bilstm_params, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipeline.ml.training import train

    out = tmp_path_factory.mktemp("bilstm") / "candidate"
    train(out, bilstm_params, with_anchors=False, log=lambda m: None)
    return out


@pytest.fixture(scope="session")
def blessed(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A copy of the trained model that passed the real gate, and its reports directory."""
    from pipeline.gate import main as gate_main

    root = tmp_path_factory.mktemp("blessed")
    model = root / "candidate"
    shutil.copytree(trained_dir, model)
    reports = root / "reports"
    assert gate_main(["--model", str(model), "--reports", str(reports), "--no-champion"]) == 0
    return model, reports


@pytest.fixture(scope="session")
def zeroed_dir(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model with every weight set to zero: it scores 0.5 for everything."""
    import keras

    from pipeline.ml.training import repackage
    from sentiment import artifact

    model = keras.models.load_model(trained_dir / artifact.KERAS_FILE)
    model.set_weights([w * 0 for w in model.get_weights()])
    out = tmp_path_factory.mktemp("zeroed")
    repackage(trained_dir, model, out)
    return out


@pytest.fixture(scope="session")
def nan_dir(trained_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained model with every weight NaN: a broken model whose every score is NaN."""
    import keras
    import numpy as np

    from pipeline.ml.training import repackage
    from sentiment import artifact

    model = keras.models.load_model(trained_dir / artifact.KERAS_FILE)
    model.set_weights([w * np.nan for w in model.get_weights()])
    out = tmp_path_factory.mktemp("nan")
    repackage(trained_dir, model, out)
    return out


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
