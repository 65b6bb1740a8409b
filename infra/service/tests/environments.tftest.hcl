# What each environment may expose. Offline, mock provider: `terraform test`; run it with
# -var-file=env/prod.tfvars to check the prod file as it is (tests/integration/infra/test_terraform_validation.py does).
# qa and prod refusing plain HTTP (a precondition in the server module) is checked there too,
# since a test file can only expect failures of this stack's own objects.

mock_provider "aws" {
  source = "../modules/server/tests/mocks"
}

variables {
  project_name             = "sentiment-api"
  region                   = "eu-west-1"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-prod:0123456789ab-aaaaaaaaaaaa"
  model_version            = "aaaaaaaaaaaa"
  model_bucket_name        = "sentiment-api-prod-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-prod-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-prod"
}

run "prod_as_configured_takes_no_ingress" {
  command = plan
  variables {
    environment = "prod"
  }
  assert {
    condition     = length(var.allowed_cidrs) == 0
    error_message = "prod must open no ingress unless someone sets allowed_cidrs (with replicas > 1 and certificate_arn)"
  }
}

run "prod_with_a_certificate_and_replicas_serves" {
  command = apply # mock provider: nothing is created
  variables {
    environment     = "prod"
    replicas        = 2
    allowed_cidrs   = ["203.0.113.0/24"]
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }
  assert {
    condition     = startswith(output.endpoint_url, "https://")
    error_message = "prod serves over HTTPS"
  }
}

run "dev_one_server_for_named_networks_plans" {
  command = plan
  variables {
    environment   = "dev"
    allowed_cidrs = ["203.0.113.0/24"]
  }
}

run "local_as_configured_plans" {
  command = plan
  variables {
    environment   = "local"
    allowed_cidrs = ["127.0.0.1/32"]
  }
}
