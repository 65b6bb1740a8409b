# Long-lived resources shared by every release: the model bucket and the image registry.

module "model_bucket" {
  source                     = "../modules/bucket"
  name                       = var.model_bucket_name
  enable_event_notifications = var.enable_event_notifications
  require_tls                = var.require_tls
  force_destroy              = var.force_destroy
}

module "registry" {
  source              = "../modules/container_registry"
  name                = var.repository_name
  untagged_image_days = var.untagged_image_days
  force_delete        = var.force_destroy
}
