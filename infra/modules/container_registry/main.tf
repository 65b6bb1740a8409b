# Private ECR repository: immutable tags, scan on push, customer-managed KMS key, a lifecycle
# that expires only untagged images.

module "key" {
  source      = "../kms_key"
  description = "Encrypts ECR repository ${var.name}"
  alias       = null
  tags        = var.tags
}

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete
  tags                 = var.tags

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = module.key.arn
  }
}

# Only untagged images expire. Every pushed image is tagged <git-sha12>-<model-version> (with
# -dirty<hash> from an uncommitted tree) and tags are immutable, so a tag never moves off an
# image: an untagged image is an interrupted or superseded push that nothing can deploy by tag.
# A tagged image may be what the model registry's champion or history rolls back to, which
# ECR cannot know; it stays until someone deletes it knowingly (see README).
resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images ${var.untagged_image_days} days after their push; never a tagged image"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.untagged_image_days
      }
      action = { type = "expire" }
    }]
  })
}
