"""The Embedded Metric Format specification as a JSON Schema, for the tests of the service's EMF lines."""

from __future__ import annotations

import json
import math

import jsonschema

# The structure of the Embedded Metric Format specification
# (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
# a root object with an `_aws` member holding a millisecond Timestamp and MetricDirectives; each
# directive a Namespace, DimensionSets (arrays of at most 30 member names) and MetricDefinitions (at
# most 100; Name, optional Unit from CloudWatch's units, optional StorageResolution 1 or 60).
# What a schema cannot say (referenced members exist, with the right types) is checked in `references`.
UNITS = [
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]  # fmt: skip
EMF_SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": r"^\S+$"},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1, "maxLength": 250},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                        "Unit": {"enum": UNITS},
                                        "StorageResolution": {"enum": [1, 60]},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def references(doc: dict) -> None:
    """The spec's rules on target members: dimensions are strings of 1-1024 characters, metric values numbers
    (or arrays of at most 100 numbers), both present at the root."""
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dimension_set in directive["Dimensions"]:
            for name in dimension_set:
                assert isinstance(doc.get(name), str) and 1 <= len(doc[name]) <= 1024, f"dimension {name}"
        for metric in directive["Metrics"]:
            value = doc.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert len(values) <= 100, metric["Name"]
            assert all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)


def valid_lines(lines: list[str]) -> list[dict]:
    docs = [json.loads(line) for line in lines]
    for doc in docs:
        jsonschema.validate(doc, EMF_SCHEMA)
        references(doc)
    return docs
