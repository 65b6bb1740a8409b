"""The BiLSTM (the seed's architecture): token ids -> embedding -> bidirectional LSTM -> dense.

Feature state: `sentiment.featurizers.token_ids.TokenVocabulary` (words by document frequency,
padding id 0 masked by the embedding, 1 = out of vocabulary). Sizes are `BiLSTMParameters`.
An LSTM converts to LiteRT builtin ops only with fixed input shapes, so the serving model takes
ids int32 [serving_batch, sequence_length], [1, N] for the built-in one: the runtime feeds a batch
in slices of serving_batch rows, the last padded with empty rows.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.ml.hyperparameters import BiLSTMParameters
from pipeline.ml.model import fit_keras, seed_everything
from sentiment.artifact import InputSpec
from sentiment.featurizers.token_ids import TokenVocabulary


def build(vocab_size: int, length: int, params: BiLSTMParameters) -> keras.Model:
    inputs = keras.Input(shape=(length,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, params.embedding_dim, mask_zero=True, name="embedding")(inputs)
    x = keras.layers.Bidirectional(keras.layers.LSTM(params.lstm_units, seed=params.seed), name="bilstm")(x)
    x = keras.layers.Dropout(params.dropout, seed=params.seed)(x) if params.dropout else x
    outputs = keras.layers.Dense(1, activation="sigmoid", name="score")(x)
    model = keras.Model(inputs, outputs, name="sentiment_bilstm")
    model.compile(optimizer=keras.optimizers.Adam(params.learning_rate), loss="binary_crossentropy")
    return model


def _dataset(ids: np.ndarray, labels: np.ndarray, batch: int, shuffle_seed: int | None) -> tf.data.Dataset:
    ds = tf.data.Dataset.from_tensor_slices((ids, labels.astype(np.float32)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(ids), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch)


class BiLSTM:
    name = "bilstm"
    version = 1

    def __init__(self, serving_batch: int = 1) -> None:
        # 1 serves the usual single-text request without padding; the signature records it.
        self.serving_batch = serving_batch

    def fit_state(self, texts: Sequence[str], labels: np.ndarray, params: BiLSTMParameters) -> TokenVocabulary:
        return TokenVocabulary.fit(texts, params.max_tokens, params.min_df, params.sequence_length)

    def load_state(self, path: Path) -> TokenVocabulary:
        return TokenVocabulary.load(path)

    def describe(self, state: TokenVocabulary) -> str:
        return f"vocabulary: {len(state.tokens)} words, sequences of {state.length} token ids"

    def fit(
        self,
        state: TokenVocabulary,
        train: tuple[list[str], np.ndarray],
        val: tuple[list[str], np.ndarray],
        params: BiLSTMParameters,
        verbose: int = 2,
    ) -> keras.Model:
        seed_everything(params.seed)
        model = build(state.size, state.length, params)
        train_ds = _dataset(state.encode(train[0]), train[1], params.batch_size, shuffle_seed=params.seed)
        fit_keras(model, train_ds, _dataset(state.encode(val[0]), val[1], 1024, shuffle_seed=None), params, verbose)
        return model

    def keras_inputs(self, state: TokenVocabulary, texts: Sequence[str]) -> np.ndarray:
        return state.encode(texts)

    def export(self, model: keras.Model, state: TokenVocabulary, path: Path) -> tuple[InputSpec, ...]:
        """The trained layers behind an input of fixed shape [serving_batch, length]: LSTMs become
        fused builtin ops only with fixed shapes (a dynamic batch leaves variable reads LiteRT cannot run)."""
        inputs = keras.Input(batch_shape=(self.serving_batch, state.length), dtype="int32", name="ids")
        fixed = keras.Model(inputs, model(inputs), name=model.name)
        converter = tf.lite.TFLiteConverter.from_keras_model(fixed)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        with contextlib.redirect_stdout(io.StringIO()):  # the converter prints its temporary SavedModel
            path.write_bytes(converter.convert())
        return (InputSpec("ids", (self.serving_batch, state.length), "int32"),)


ARCHITECTURE = BiLSTM()
