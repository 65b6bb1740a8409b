# CloudWatch alarms on the release, to the SNS topic alarm_sns_topic_arn (none: the alarms only show in
# the console). What Prometheus watches inside the service (drift, model age) is in infra/monitoring/;
# these watch what only AWS sees: the load balancer's 5xx and latency, and the instances' status checks.
# Off for the emulator (as detailed monitoring is): emulated instances publish no metrics to alarm on.

locals {
  alarms           = var.alarms_enabled && !var.emulator
  alarm_scale_out  = local.alarms && var.replicas > 1
  alarm_prefix     = "${var.project_name}-${var.environment}"
  alarm_actions    = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]
  alarm_lb_name    = substr(local.alarm_prefix, 0, 29) # as the server module names its load balancer
  alarm_dimensions = local.alarm_scale_out ? { LoadBalancer = data.aws_lb.release[0].arn_suffix, TargetGroup = data.aws_lb_target_group.release[0].arn_suffix } : {}
}

# The module creates the load balancer; read back after it, for the ARN suffixes CloudWatch names it by.
data "aws_lb" "release" {
  count      = local.alarm_scale_out ? 1 : 0
  name       = local.alarm_lb_name
  depends_on = [module.server]
}

data "aws_lb_target_group" "release" {
  count      = local.alarm_scale_out ? 1 : 0
  name       = "${local.alarm_lb_name}-tg"
  depends_on = [module.server]
}

resource "aws_cloudwatch_metric_alarm" "http_5xx" {
  count               = local.alarm_scale_out ? 1 : 0
  alarm_name          = "${local.alarm_prefix}-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_percent}% of requests answered 5xx (by the servers or the load balancer) for 5 minutes; bad input is 4xx, so any 5xx is a fault."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = { Name = "${local.alarm_prefix}-5xx-rate" }

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * (FILL(target, 0) + FILL(elb, 0)) / requests, 0)"
    label       = "5xx share of requests (%)"
    return_data = true
  }
  dynamic "metric_query" {
    for_each = { requests = "RequestCount", target = "HTTPCode_Target_5XX_Count", elb = "HTTPCode_ELB_5XX_Count" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/ApplicationELB"
        metric_name = metric_query.value
        dimensions  = metric_query.key == "elb" ? { LoadBalancer = local.alarm_dimensions.LoadBalancer } : local.alarm_dimensions
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "target_response_time" {
  count               = local.alarm_scale_out ? 1 : 0
  alarm_name          = "${local.alarm_prefix}-p99-latency"
  alarm_description   = "Target response time p99 above ${var.alarm_p99_seconds} s for 10 minutes (smoke.p99_ms is 250 ms end to end)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = local.alarm_dimensions
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p99_seconds
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = { Name = "${local.alarm_prefix}-p99-latency" }
}

resource "aws_cloudwatch_metric_alarm" "status_check" {
  count               = local.alarms ? 1 : 0
  alarm_name          = "${local.alarm_prefix}-status-check"
  alarm_description   = "An instance of the release failed its EC2 system or instance status check for 2 minutes."
  namespace           = "AWS/EC2"
  metric_name         = "StatusCheckFailed"
  dimensions          = local.alarm_scale_out ? { AutoScalingGroupName = module.server.autoscaling_group_name } : { InstanceId = module.server.instance_id }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 2
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "breaching" # an instance that reports nothing is not known to be healthy
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = { Name = "${local.alarm_prefix}-status-check" }
}
