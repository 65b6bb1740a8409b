# The running release: a pinned image and model version on one server (blue/green: two instance
# slots behind one Elastic IP), or on an Auto Scaling group behind a load balancer when replicas > 1. qa and prod serve only over HTTPS (through
# the load balancer); see infra/modules/server/README.md.

module "server" {
  source                   = "../modules/server"
  name                     = "${var.project_name}-${var.environment}"
  environment              = var.environment
  image                    = var.image
  image_signing_public_key = var.image_signing_public_key
  model_version            = var.model_version
  model_bucket_name        = var.model_bucket_name
  model_bucket_arn         = var.model_bucket_arn
  model_bucket_kms_key_arn = var.model_bucket_kms_key_arn
  repository_arn           = var.repository_arn
  allowed_cidrs            = var.allowed_cidrs
  require_https            = contains(["qa", "prod"], var.environment)
  instance_type            = var.instance_type
  ami_id                   = var.ami_id
  detailed_monitoring      = var.detailed_monitoring

  replicas                          = var.replicas
  max_replicas                      = var.max_replicas
  instance_refresh                  = var.instance_refresh
  certificate_arn                   = var.certificate_arn
  load_balancer_deletion_protection = var.load_balancer_deletion_protection
  candidate                         = var.candidate
  live_replicas                     = var.live_replicas
  release_alarms                    = var.alarms_enabled # also against the emulator: the delivery tests set their states
  release_alarm_actions             = local.alarm_actions
  release_alarm_5xx_percent         = var.alarm_5xx_percent
  release_alarm_p99_seconds         = var.alarm_p99_seconds

  live_slot = var.live_slot
  standby   = var.standby
}
