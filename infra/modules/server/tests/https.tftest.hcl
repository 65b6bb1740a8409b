# require_https (qa and prod): TLS through the load balancer, never plain HTTP to anyone;
# /metrics never through the load balancer. Offline, mock provider: `terraform test`.

mock_provider "aws" {
  source = "./tests/mocks"
}

# Two listeners, two ARNs: the /metrics rule must name the one that forwards.
override_resource {
  target = aws_lb_listener.http
  values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sentiment/0123456789abcdef/0000000000000080" }
}

override_resource {
  target = aws_lb_listener.https
  values = { arn = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/sentiment/0123456789abcdef/0000000000000443" }
}

variables {
  name                     = "sentiment-api-prod"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-prod:0123456789ab-aaaaaaaaaaaa"
  model_version            = "aaaaaaaaaaaa"
  model_bucket_name        = "sentiment-api-prod-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-prod-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-prod"
  require_https            = true
}

run "https_required_load_balancer_without_a_certificate_is_refused" {
  command = plan
  variables {
    replicas      = 2
    allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [aws_security_group.this]
}

run "https_required_one_server_is_refused_any_ingress" {
  command = plan
  variables {
    allowed_cidrs   = ["10.0.0.0/8"] # not even a private range: the server has no TLS, a certificate changes nothing
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }
  expect_failures = [aws_security_group.this]
}

run "https_required_one_server_without_ingress_is_fine" {
  command = apply
  assert {
    condition     = length(aws_security_group.this.ingress) == 0
    error_message = "a single server under require_https must take no ingress"
  }
}

run "https_required_load_balancer_with_a_certificate_serves_https_and_redirects_http" {
  command = apply # mock provider: nothing is created, computed values are made up
  variables {
    replicas        = 2
    allowed_cidrs   = ["0.0.0.0/0"]
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }
  assert {
    condition     = length(aws_lb_listener.https) == 1 && aws_lb_listener.http[0].default_action[0].type == "redirect"
    error_message = "with a certificate, 443 serves and 80 only redirects"
  }
  assert {
    condition     = aws_lb_listener_rule.metrics_not_public[0].listener_arn == aws_lb_listener.https[0].arn
    error_message = "the /metrics rule must sit on the listener that forwards (HTTPS)"
  }
  assert {
    condition     = startswith(output.endpoint_url, "https://")
    error_message = "the endpoint must be https"
  }
}

run "metrics_answer_404_at_the_load_balancer" {
  command = apply
  variables {
    require_https = false # dev: plain HTTP through the load balancer is allowed, to named networks
    replicas      = 2
    allowed_cidrs = ["203.0.113.0/24"]
  }
  assert {
    condition     = aws_lb_listener_rule.metrics_not_public[0].listener_arn == aws_lb_listener.http[0].arn
    error_message = "without a certificate the /metrics rule sits on the HTTP listener, which forwards"
  }
  assert {
    condition = (
      aws_lb_listener_rule.metrics_not_public[0].action[0].type == "fixed-response"
      && aws_lb_listener_rule.metrics_not_public[0].action[0].fixed_response[0].status_code == "404"
    )
    error_message = "/metrics must get a fixed 404 from the load balancer"
  }
  assert {
    condition = length(setsubtract(["/metrics", "/metrics/*", "//*"], flatten([
      for c in aws_lb_listener_rule.metrics_not_public[0].condition : [for p in c.path_pattern : p.values]
    ]))) == 0
    error_message = "the rule must match /metrics, /metrics/ and //metrics (the app routes all three to /metrics)"
  }
  assert {
    condition     = aws_lb_listener_rule.metrics_not_public[0].priority < 50000
    error_message = "the rule must come before the default forward"
  }
}

run "dev_one_server_may_still_serve_plain_http_to_named_networks" {
  command = apply
  variables {
    require_https = false
    allowed_cidrs = ["203.0.113.0/24"]
  }
  assert {
    condition     = length(aws_security_group.this.ingress) == 1
    error_message = "dev keeps its plain-HTTP single server for the networks it names"
  }
}

run "plain_http_open_to_the_world_is_refused" {
  command = plan
  variables {
    require_https = false
    allowed_cidrs = ["203.0.113.0/24", "0.0.0.0/0"]
  }
  expect_failures = [aws_security_group.this]
}

run "plain_http_load_balancer_open_to_the_world_is_refused" {
  command = plan
  variables {
    require_https = false
    replicas      = 2
    allowed_cidrs = ["0.0.0.0/0"]
  }
  expect_failures = [aws_security_group.this]
}

run "https_load_balancer_open_to_the_world_serves" {
  command = apply
  variables {
    require_https   = false
    replicas        = 2
    allowed_cidrs   = ["0.0.0.0/0"]
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }
  assert {
    condition     = length(aws_lb_listener.https) == 1
    error_message = "open to the world only over HTTPS"
  }
}
