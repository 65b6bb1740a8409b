"""Live metrics of running releases, read the same way by the delivery judge and the monitor.

  samples            a window of samples (name + labels -> value) and the histogram math on it
  windows            a release's /metrics as snapshots and windows, or a window from Prometheus
  cloudwatch_window  the same window from CloudWatch (EMF metrics), for AWS
  health             non-ML health checks over a window (error rate, p99, model age, non-finite scores)

What the numbers mean for the model (drift against its reference profile) is `pipeline.ml.drift`.
"""
