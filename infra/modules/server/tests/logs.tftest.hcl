# The service's log group (logs.tf): retention, its own KMS key, and an instance role that may only
# write its streams. Offline, mock provider: `terraform test`.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                     = "sentiment-api-dev"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-aaaaaaaaaaaa"
  model_version            = "aaaaaaaaaaaa"
  model_bucket_name        = "sentiment-api-dev-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-dev-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-dev"
}

run "log_group_is_kept_and_encrypted" {
  command = apply

  assert {
    condition     = aws_cloudwatch_log_group.service.name == "sentiment-api-dev/service" && aws_cloudwatch_log_group.service.retention_in_days == 30
    error_message = "one log group per environment, kept 30 days by default"
  }

  assert {
    condition     = aws_cloudwatch_log_group.service.kms_key_id == module.logs_key.arn
    error_message = "the log group must be encrypted with its own customer-managed key"
  }
}

run "instance_role_only_writes_its_streams" {
  command = apply

  assert {
    condition     = flatten([for s in data.aws_iam_policy_document.logs.statement : s.actions]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    error_message = "the role may only create streams and put events: no group creation, no reads, no deletes"
  }

  assert {
    condition     = flatten([for s in data.aws_iam_policy_document.logs.statement : s.resources]) == ["${aws_cloudwatch_log_group.service.arn}:log-stream:*"]
    error_message = "the role may write only the streams of the service's own log group"
  }

  assert {
    condition     = aws_iam_role_policy.logs.role == aws_iam_role.this.id
    error_message = "the permission belongs to the instance role"
  }
}

run "nonfinite_alarm_names_the_emf_metric_of_each_release" {
  command = plan

  variables {
    candidate = {
      image         = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-bbbbbbbbbbbb"
      model_version = "bbbbbbbbbbbb"
      weight        = 10
    }
    replicas = 2
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.nonfinite_scores)) == toset(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    error_message = "the live release and the candidate each get the alarm"
  }

  assert {
    condition = alltrue([for version, alarm in aws_cloudwatch_metric_alarm.nonfinite_scores :
      alarm.namespace == "SentimentService" && alarm.metric_name == "NonFiniteScores"
      && length(alarm.dimensions) == 2 && alarm.dimensions["Service"] == "sentiment-api-dev"
    && alarm.dimensions["ModelVersion"] == version])
    error_message = "the alarm must query the metric the service's EMF lines write (emf_metrics.json)"
  }
}

run "retention_must_be_a_cloudwatch_period" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}
