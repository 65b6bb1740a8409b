"""Hand-made windows of live samples for the live_metrics tests."""


def key(name, **labels):
    return (name, tuple(sorted(labels.items())))


def requests(ok, errors, version="abc123abc123"):
    return {
        key("sentiment_requests_total", route="/predict", method="POST", status="200"): ok,
        key("sentiment_requests_total", route="/predict", method="POST", status="500"): errors,
        key("sentiment_model_info", version=version): 1.0,
    }
