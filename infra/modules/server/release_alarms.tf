# Scale-out mode: CloudWatch alarms on EACH target group, the live and the candidate slot alike, so a
# delivery step is judged on the release that gets the traffic, whichever slot holds it. The pipeline
# finds them through the output `release_alarms` (names "<name>-<slot>-<kind>"): a rollout refuses to
# start while any is in ALARM, and a candidate's alarm in ALARM during a bake aborts it
# (pipeline/release/scale_out.py). Periods are one minute so an alarm can fire inside a bake of minutes.

locals {
  release_alarm_slots = local.scale_out && var.release_alarms ? local.target_group_names : {}
  release_alarm_names = {
    for slot in keys(local.release_alarm_slots) : slot => [
      for kind in ["5xx-rate", "p99-latency", "unhealthy-hosts"] : "${var.name}-${slot}-${kind}"
    ]
  }
  # The dimensions the load balancer publishes a target group's metrics under.
  release_alarm_dimensions = {
    for slot in keys(local.release_alarm_slots) : slot => {
      TargetGroup  = aws_lb_target_group.this[slot].arn_suffix
      LoadBalancer = aws_lb.this[0].arn_suffix
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "release_5xx" {
  for_each            = local.release_alarm_slots
  alarm_name          = "${var.name}-${each.key}-5xx-rate"
  alarm_description   = "More than ${var.release_alarm_5xx_percent}% of the ${each.key} target group's requests answered 5xx by its servers, 2 minutes running; bad input is 4xx, so any 5xx is a fault."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.release_alarm_5xx_percent
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  treat_missing_data  = "notBreaching" # a parked slot gets no requests
  alarm_actions       = var.release_alarm_actions
  ok_actions          = var.release_alarm_actions
  tags                = var.tags

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)"
    label       = "5xx share of the target group's requests (%)"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = { requests = "RequestCount", errors = "HTTPCode_Target_5XX_Count" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = local.release_alarm_dimensions[each.key]
        period      = 60
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "release_p99" {
  for_each            = local.release_alarm_slots
  alarm_name          = "${var.name}-${each.key}-p99-latency"
  alarm_description   = "The ${each.key} target group's p99 TargetResponseTime above ${var.release_alarm_p99_seconds} s, 3 minutes running (smoke.p99_ms and delivery.toml's p99_ms are 250 ms)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.release_alarm_dimensions[each.key]
  extended_statistic  = "p99"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.release_alarm_p99_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.release_alarm_actions
  ok_actions          = var.release_alarm_actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "release_unhealthy" {
  for_each            = local.release_alarm_slots
  alarm_name          = "${var.name}-${each.key}-unhealthy-hosts"
  alarm_description   = "A server of the ${each.key} target group failed the load balancer's /ready check, 2 minutes running."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = local.release_alarm_dimensions[each.key]
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching" # a slot scaled to 0 has no hosts
  alarm_actions       = var.release_alarm_actions
  ok_actions          = var.release_alarm_actions
  tags                = var.tags
}
