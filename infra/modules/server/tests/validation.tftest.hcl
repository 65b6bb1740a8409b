# The release inputs are validated before anything is planned (they also end up in the user
# data, see templates/user_data.sh.tftpl). Offline, mock provider: `terraform test`.
# tests/integration/infra/test_terraform_validation.py runs many more values against the same validation blocks.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                     = "sentiment-api-qa"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-qa:0123456789ab-aaaaaaaaaaaa"
  model_version            = "aaaaaaaaaaaa"
  model_bucket_name        = "sentiment-api-qa-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-qa-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-qa"
}

run "a_release_as_the_pipeline_builds_it_plans" {
  command = plan
}

run "values_that_would_break_out_of_the_user_data_are_refused" {
  command = plan
  variables {
    image             = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v1\nUNIT\nreboot"
    model_version     = "aaaaaaaaaaaa'; reboot; '"
    model_bucket_name = "models$(reboot)"
    port              = 70000
  }
  expect_failures = [var.image, var.model_version, var.model_bucket_name, var.port]
}
