"""The n-gram model (default): logistic regression over NB-weighted word and character n-grams.

Feature state: `sentiment.text.Vocabulary`. Serving inputs: term ids int32 + counts float32,
both [batch, n] of any size (`Vocabulary.count_rows`); the tf-idf weighting runs in the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from pipeline.ml.hyperparameters import NgramParameters
from pipeline.ml.model import fit_keras, seed_everything
from sentiment.artifact import InputSpec
from sentiment.text import Vocabulary


def build(vocab_size: int, params: NgramParameters) -> keras.Model:
    """Logistic regression over NB-weighted n-gram features: small, fast, well calibrated."""
    inputs = keras.Input(shape=(vocab_size,), name="features")
    x = keras.layers.Dropout(params.dropout, seed=params.seed)(inputs) if params.dropout else inputs
    outputs = keras.layers.Dense(
        1, activation="sigmoid", kernel_regularizer=keras.regularizers.l2(params.l2), name="score"
    )(x)
    model = keras.Model(inputs, outputs, name="sentiment")
    model.compile(optimizer=keras.optimizers.Adam(params.learning_rate), loss="binary_crossentropy")
    return model


def _sparse_dataset(vocab: Vocabulary, texts: list[str], labels: np.ndarray, batch: int, shuffle_seed: int | None):
    rows, cols, vals = [], [], []
    for row, text in enumerate(texts):
        c, v = vocab.features(text)
        rows.append(np.full(len(c), row))
        cols.append(c)
        vals.append(v)
    indices = np.stack([np.concatenate(rows), np.concatenate(cols)], axis=1).astype(np.int64)
    matrix = tf.sparse.reorder(
        tf.SparseTensor(indices, np.concatenate(vals).astype(np.float32), (len(texts), vocab.size))
    )
    ds = tf.data.Dataset.from_tensor_slices((matrix, labels.astype(np.float32)))
    if shuffle_seed is not None:
        ds = ds.shuffle(len(texts), seed=shuffle_seed, reshuffle_each_iteration=True)
    return ds.batch(batch).map(lambda x, y: (tf.sparse.to_dense(x), y))


def export_litert(model: keras.Model, vocab: Vocabulary, path: Path) -> None:
    """LiteRT flatbuffer of builtin ops that takes term counts: ids int32 + counts float32 [batch, n].

    The graph does the weighting of `Vocabulary.features` (sublinear tf x idf, L2 norm per
    block, naive-Bayes ratio) and turns the first Dense layer into an embedding-bag (gather
    its kernel rows, weight, sum), which equals the dense product because every absent
    feature is zero; later layers run as they are. Padding is id 0 with count 0.
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer | keras.layers.Dropout)]
    first, rest = layers[0], layers[1:]
    if not isinstance(first, keras.layers.Dense):
        raise TypeError(f"the sparse export needs a Dense first layer, not {type(first).__name__}")
    kernel, bias = first.get_weights()
    idf = tf.constant(np.asarray(vocab.idf, dtype=np.float32))
    # The ratio scales each feature before the kernel, so it folds into the kernel's rows.
    ratio_kernel = tf.constant(np.asarray(vocab.ratio, dtype=np.float32)[:, None] * kernel)
    n_word_terms = tf.constant(vocab.n_word_terms, dtype=tf.int32)

    def inverse_norm(squares: tf.Tensor, in_block: tf.Tensor) -> tf.Tensor:
        # An empty block has all-zero values, so any finite scale leaves it zero.
        return tf.math.rsqrt(tf.maximum(tf.reduce_sum(squares * in_block, axis=1, keepdims=True), 1e-12))

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.int32, name="ids"),
            tf.TensorSpec([None, None], tf.float32, name="counts"),
        ]
    )
    def score(ids: tf.Tensor, counts: tf.Tensor) -> tf.Tensor:
        # 1 + log(count) for real terms, 0 for padding (count 0), without a log of zero.
        values = (1.0 + tf.math.log(tf.maximum(counts, 1.0))) * tf.minimum(counts, 1.0) * tf.gather(idf, ids)
        squares = values * values
        is_word = tf.cast(ids < n_word_terms, tf.float32)
        is_char = 1.0 - is_word
        weights = values * (is_word * inverse_norm(squares, is_word) + is_char * inverse_norm(squares, is_char))
        x = first.activation(tf.reduce_sum(tf.gather(ratio_kernel, ids) * tf.expand_dims(weights, -1), axis=1) + bias)
        for layer in rest:
            x = layer(x, training=False)
        return x

    converter = tf.lite.TFLiteConverter.from_concrete_functions([score.get_concrete_function()], model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    path.write_bytes(converter.convert())


class NGram:
    name = "ngram"
    version = 1

    def fit_state(self, texts: Sequence[str], labels: np.ndarray, params: NgramParameters) -> Vocabulary:
        return Vocabulary.fit(texts, labels.astype(int).tolist(), params.features)

    def load_state(self, path: Path) -> Vocabulary:
        return Vocabulary.load(path)

    def describe(self, state: Vocabulary) -> str:
        return f"vocabulary: {state.size} word and character n-grams"

    def fit(
        self,
        state: Vocabulary,
        train: tuple[list[str], np.ndarray],
        val: tuple[list[str], np.ndarray],
        params: NgramParameters,
        verbose: int = 2,
    ) -> keras.Model:
        seed_everything(params.seed)
        model = build(state.size, params)  # right after seeding: the initial weights depend on it
        train_ds = _sparse_dataset(state, *train, params.batch_size, shuffle_seed=params.seed)
        fit_keras(model, train_ds, _sparse_dataset(state, *val, 1024, shuffle_seed=None), params, verbose)
        return model

    def keras_inputs(self, state: Vocabulary, texts: Sequence[str]) -> np.ndarray:
        return state.vectorize(texts)

    def export(self, model: keras.Model, state: Vocabulary, path: Path) -> tuple[InputSpec, ...]:
        export_litert(model, state, path)
        return (InputSpec("ids", (None, None), "int32"), InputSpec("counts", (None, None), "float32"))


ARCHITECTURE = NGram()
