# Offline AWS for `terraform test`: plausible data source answers; resources get mock values.

mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}

mock_data "aws_vpc" {
  defaults = { id = "vpc-0123456789abcdef0", cidr_block = "172.31.0.0/16" }
}

mock_data "aws_subnets" {
  defaults = { ids = ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"] }
}

mock_data "aws_ami" {
  defaults = { id = "ami-0123456789abcdef0" }
}

mock_data "aws_default_tags" {
  defaults = { tags = {} }
}

# The provider checks that policies are JSON objects; the statements themselves stay readable
# in the plan (data.aws_iam_policy_document.<name>.statement).
mock_data "aws_iam_policy_document" {
  defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
}

# Values other resources validate when they reference them (ARNs, IDs with a prefix).
mock_resource "aws_lb" {
  defaults = {
    arn      = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/sentiment/0123456789abcdef"
    dns_name = "sentiment-0123456789.eu-west-1.elb.amazonaws.com"
  }
}

mock_resource "aws_lb_target_group" {
  defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/sentiment-tg/0123456789abcdef" }
}

mock_resource "aws_lb_listener" {
  defaults = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sentiment/0123456789abcdef/0000000000000000" }
}

mock_resource "aws_launch_template" {
  defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
}

mock_resource "aws_kms_key" {
  defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/11111111-1111-1111-1111-111111111111" }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:sentiment-api-dev/service" }
}
