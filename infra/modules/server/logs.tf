# The container's output in CloudWatch Logs: the docker `awslogs` log driver (user data) ships the
# service's stdout/stderr to one log group per environment, encrypted with its own key and kept
# log_retention_days. The service's EMF lines (src/sentiment/emf.py) arrive there too, and CloudWatch
# extracts them as the metrics of emf_metrics.json (generated from src/sentiment/cloudwatch_metrics.py:
# one definition for the service, this module and `python -m pipeline.monitor`).

variable "log_retention_days" {
  description = "Days CloudWatch Logs keeps the service's output (EMF lines included; the metrics extracted from them are kept by CloudWatch for 15 months regardless)."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

locals {
  emf            = jsondecode(file("${path.module}/emf_metrics.json"))
  log_group_name = "${var.name}/service" # no leading /: the user data takes no value starting with one
}

module "logs_key" {
  source          = "../kms_key"
  description     = "CloudWatch Logs of ${var.name}'s service"
  log_group_names = [local.log_group_name]
  tags            = var.tags
}

resource "aws_cloudwatch_log_group" "service" {
  #checkov:skip=CKV_AWS_338:Service output and EMF lines, no audit trail; the metrics they become are kept 15 months by CloudWatch, and log_retention_days goes up to 10 years where wanted.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = module.logs_key.arn
  tags              = var.tags
}

# Least privilege: the docker daemon on the instance (with the instance role) makes its streams in
# this group and writes to them; it creates no group, reads nothing and touches no other group.
data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "WriteServiceLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service.arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "${var.name}-server-logs"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.logs.json
}

# A release whose model answers NaN or infinity is broken whatever its traffic: an alarm on the EMF
# metric for the live release and the candidate (their ModelVersion), named by the shared definition.
resource "aws_cloudwatch_metric_alarm" "nonfinite_scores" {
  for_each            = toset([for release in local.releases : release.model_version])
  alarm_name          = "${var.name}-${each.key}-nonfinite-scores"
  alarm_description   = "The release of model ${each.key} gave NaN or infinite scores (a broken model; the service answered 500)."
  namespace           = local.emf.namespace
  metric_name         = "NonFiniteScores"
  dimensions          = zipmap(local.emf.metrics["NonFiniteScores"].dimensions, [var.name, each.key])
  statistic           = local.emf.metrics["NonFiniteScores"].statistic
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  tags                = var.tags
}

output "log_group_name" {
  description = "CloudWatch Logs group of the service's output and EMF metric lines."
  value       = aws_cloudwatch_log_group.service.name
}

output "emf_namespace" {
  description = "CloudWatch namespace of the metrics the service's EMF lines become (emf_metrics.json)."
  value       = local.emf.namespace
}
