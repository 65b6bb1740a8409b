# Customer-managed KMS key with rotation; the account administers it, services get access through IAM.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

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
