# Customer-managed KMS key with rotation; the account administers it, services get access through IAM.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "key" {
  # In a key policy, "*" is this key; account-root administration is AWS's default key policy.
  #checkov:skip=CKV_AWS_109:Key policy resource "*" means this key only.
  #checkov:skip=CKV_AWS_111:Key policy resource "*" means this key only.
  #checkov:skip=CKV_AWS_356:Key policy resource "*" means this key only.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
  # CloudWatch Logs encrypts with the key itself (no IAM caller), so only the key policy can let it,
  # and only for the named log groups of this account and region.
  dynamic "statement" {
    for_each = length(var.log_group_names) > 0 ? [1] : []
    content {
      sid       = "CloudWatchLogs"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
      }
      condition {
        test     = "ArnEquals"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values = [for name in var.log_group_names :
        "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${name}"]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = var.description
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "this" {
  count         = var.alias == null ? 0 : 1
  name          = "alias/${var.alias}"
  target_key_id = aws_kms_key.this.key_id
}
