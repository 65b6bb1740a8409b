# The running release: one server running a pinned image and model version.

module "server" {
  source                   = "../modules/server"
  name                     = "${var.project_name}-${var.environment}"
  image                    = var.image
  model_version            = var.model_version
  model_bucket_name        = var.model_bucket_name
  model_bucket_arn         = var.model_bucket_arn
  model_bucket_kms_key_arn = var.model_bucket_kms_key_arn
  repository_arn           = var.repository_arn
  allowed_cidrs            = var.allowed_cidrs
  instance_type            = var.instance_type
  ami_id                   = var.ami_id
  detailed_monitoring      = var.detailed_monitoring
}
