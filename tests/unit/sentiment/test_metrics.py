"""A worker's metric updates are added up in memory and written in batches (sentiment.metrics.PendingWrites):
the store ends up exactly where observing one by one would have left it."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from sentiment.metrics import PendingWrites

VALUES = [0.0, 0.2, 0.5, 0.5, 1.0, 3.7, 250.0, 1e-9]


def metric_set():
    registry = CollectorRegistry()
    counter = Counter("c_total", "a counter", ["route", "status"], registry=registry)
    labelled = Histogram("h_seconds", "a labelled histogram", ["route"], buckets=(0.5, 1, 5), registry=registry)
    plain = Histogram("p", "a histogram", buckets=(0, 0.2, 1, 100), registry=registry)
    return registry, counter, labelled, plain


def exposition(registry):
    # _created holds the time each series was made: the only line that differs by design.
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


def test_a_written_batch_equals_observing_one_by_one():
    direct, counter, labelled, plain = metric_set()
    for value in VALUES:
        counter.labels("/predict", "200").inc()
        labelled.labels("/predict").observe(value)
        plain.observe(value)
    counter.labels("/health", "200").inc(3)

    batched, counter, labelled, plain = metric_set()
    pending = PendingWrites()
    for value in VALUES:
        pending.count(counter, ("/predict", "200"))
        pending.observe(labelled, value, ("/predict",))
        pending.observe(plain, value)
    pending.count(counter, ("/health", "200"), 3)
    pending.flush()

    assert exposition(batched) == exposition(direct)


def test_nothing_is_written_while_requests_are_in_flight_and_everything_once_the_worker_is_quiet():
    registry, counter, _, _ = metric_set()
    pending = PendingWrites(flush_every=100)
    pending.request_started()  # a slow request stays in flight throughout
    for _ in range(5):
        pending.request_started()
        pending.count(counter, ("/predict", "200"))
        pending.request_answered()
    assert registry.get_sample_value("c_total", {"route": "/predict", "status": "200"}) is None
    pending.request_answered()
    assert registry.get_sample_value("c_total", {"route": "/predict", "status": "200"}) == 5


def test_a_busy_worker_writes_every_flush_every_answers():
    registry, counter, _, _ = metric_set()
    pending = PendingWrites(flush_every=4)
    pending.request_started()  # never answered: the worker is never quiet
    for _ in range(9):
        pending.request_started()
        pending.count(counter, ("/predict", "200"))
        pending.request_answered()
    assert registry.get_sample_value("c_total", {"route": "/predict", "status": "200"}) == 8
