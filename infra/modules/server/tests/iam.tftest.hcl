# The instance role reads only what the service reads: models/<version>/* and
# registry/champion.json (src/sentiment/model_registry.py). Offline, mock provider: `terraform test`.

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

run "server_reads_only_models_and_the_champion" {
  command = plan

  assert {
    condition = toset(flatten([
      for s in data.aws_iam_policy_document.this.statement : s.resources
      if length(setintersection(s.actions, ["s3:GetObject", "s3:*", "s3:Get*", "s3:GetObject*"])) > 0
      ])) == toset([
      "arn:aws:s3:::sentiment-api-dev-models/models/*",
      "arn:aws:s3:::sentiment-api-dev-models/registry/champion.json",
    ])
    error_message = "s3:GetObject must cover models/* and registry/champion.json only"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      !contains(s.resources, "arn:aws:s3:::sentiment-api-dev-models/*") && !contains(s.resources, "*") || s.sid == "RegistryLogin"
    ])
    error_message = "no statement may grant the whole bucket (or *), except ecr:GetAuthorizationToken, which AWS allows only on *"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      toset(flatten([for c in s.condition : c.variable if c.test == "StringLike"])) == toset(["s3:prefix"])
      && toset(flatten([for c in s.condition : c.values])) == toset(["models/*", "registry/champion.json"])
      if contains(s.actions, "s3:ListBucket")
    ])
    error_message = "s3:ListBucket, if granted, must be limited to the models/ and registry/champion.json prefixes"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      length(setsubtract(s.actions, [
        "s3:GetObject", "s3:ListBucket", "kms:Decrypt", "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:GetAuthorizationToken",
      ])) == 0
    ])
    error_message = "the role may only read models, decrypt them and pull the image"
  }

  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.this.statement :
      anytrue([for c in s.condition : c.variable == "kms:ViaService" && contains(c.values, "s3.eu-west-1.amazonaws.com")])
      if contains(s.actions, "kms:Decrypt")
    ])
    error_message = "kms:Decrypt only through S3 in the region"
  }
}
