# The lifecycle policy never expires a tagged image: any tag may be a release the model
# registry's champion or history rolls back to. Offline, mock provider: `terraform test`.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  name = "sentiment-api-prod"
}

run "only_untagged_images_expire" {
  command = plan

  assert {
    condition     = length(jsondecode(aws_ecr_lifecycle_policy.this.policy).rules) > 0
    error_message = "the repository needs a lifecycle policy (untagged images pile up otherwise)"
  }

  assert {
    condition = alltrue([
      for rule in jsondecode(aws_ecr_lifecycle_policy.this.policy).rules :
      rule.selection.tagStatus == "untagged" if rule.action.type == "expire"
    ])
    error_message = "a rule that expires tagged images (tagStatus any or tagged) could delete a release the champion or history rolls back to"
  }

  assert {
    condition     = aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE"
    error_message = "tags must be immutable: a tag moved to another image would leave the release image untagged, and expiring"
  }
}
