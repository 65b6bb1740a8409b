"""What every architecture's Keras training shares: seeding and the early-stopped fit.

The architectures themselves (build, features, LiteRT export) are in `pipeline.ml.architectures`.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def seed_everything(seed: int) -> None:
    # A fresh Keras state first: layer names are numbered per process, they end up in the exported
    # graph, and a second model trained in the same process must export the same bytes.
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def fit_keras(model: keras.Model, train: tf.data.Dataset, val: tf.data.Dataset, params: Any, verbose: int) -> None:
    """Up to `params.max_epochs`, stopped after `params.patience` epochs without a better validation
    loss, keeping the best epoch's weights. The datasets shuffle themselves, seeded."""
    model.fit(
        train,
        validation_data=val,
        epochs=params.max_epochs,
        callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.patience, restore_best_weights=True)
        ],
        shuffle=False,  # the dataset shuffles itself, seeded
        verbose=verbose,
    )
