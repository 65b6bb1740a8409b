# The CloudWatch alarms of alarms.tf, offline with the mock provider (`terraform test`).

mock_provider "aws" {
  source = "../modules/server/tests/mocks"
}

variables {
  project_name             = "sentiment-api"
  region                   = "eu-west-1"
  environment              = "prod"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-prod:0123456789ab-aaaaaaaaaaaa"
  model_version            = "aaaaaaaaaaaa"
  model_bucket_name        = "sentiment-api-prod-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-prod-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-prod"
  allowed_cidrs            = ["203.0.113.0/24"]
  certificate_arn          = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  alarm_sns_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:sentiment-api-alarms"
}

run "scale_out_alarms_on_the_load_balancer_and_the_group" {
  command = apply # mock provider: nothing is created
  variables {
    replicas = 2
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.http_5xx) == 1 && length(aws_cloudwatch_metric_alarm.target_response_time) == 1
    error_message = "scale-out mode alarms on the load balancer's 5xx rate and p99"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.target_response_time[0].extended_statistic == "p99" && aws_cloudwatch_metric_alarm.target_response_time[0].threshold == 0.25
    error_message = "the latency alarm is on p99 at 250 ms"
  }
  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.status_check[0].dimensions), "AutoScalingGroupName")
    error_message = "scale-out status checks are watched per Auto Scaling group"
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.http_5xx[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:sentiment-api-alarms"])
    error_message = "alarms notify the SNS topic"
  }
}

run "one_server_alarms_on_its_status_checks_only" {
  command = plan
  variables {
    environment     = "dev"
    certificate_arn = null
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.http_5xx) == 0 && length(aws_cloudwatch_metric_alarm.status_check) == 1
    error_message = "one server has no load balancer to alarm on, only its status checks"
  }
}

run "no_alarm_against_the_emulator" {
  command = plan
  variables {
    environment     = "local"
    emulator        = true
    certificate_arn = null
    allowed_cidrs   = ["127.0.0.1/32"]
  }
  assert {
    condition     = length(aws_cloudwatch_metric_alarm.status_check) == 0
    error_message = "emulated instances publish no metrics: no alarm"
  }
}
