"""Machine-learning helpers: corpus and split, the Keras model and its export, training,
evaluation through the serving runtime, the anchors, the gate's configuration and the blessing."""
