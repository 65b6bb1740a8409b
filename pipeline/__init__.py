"""The pipeline stages, one module each, run in this order by `python -m pipeline` and by Jenkins.

This tuple is the single source of truth for the order; the Jenkinsfile is tested against it.
"""

STAGES: tuple[str, ...] = ("train",)
