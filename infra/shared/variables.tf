variable "project_name" {
  description = "Project name (PROJECT_NAME), used in tags and resource names."
  type        = string
}

variable "environment" {
  description = "Environment (PROJECT_ENV): local, dev, qa or prod."
  type        = string
  validation {
    condition     = contains(["local", "dev", "qa", "prod"], var.environment)
    error_message = "environment must be local, dev, qa or prod."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
}

variable "emulator" {
  description = "Talking to the local AWS emulator: skip credential and account checks, path-style S3."
  type        = bool
  default     = false
}

variable "max_retries" {
  description = "AWS API retries; keep low for the emulator, where retries only hide errors."
  type        = number
  default     = 25
}

variable "model_bucket_name" {
  description = "Name of the model bucket (derived by the pipeline settings); S3's naming rules are checked by modules/bucket."
  type        = string
}

variable "repository_name" {
  description = "Name of the ECR repository (derived by the pipeline settings)."
  type        = string
}

variable "enable_event_notifications" {
  description = "EventBridge notifications on the model bucket. Off for the emulator."
  type        = bool
  default     = true
}

variable "require_tls" {
  description = "Deny non-TLS requests to the model bucket. Off only for the plain-HTTP emulator."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Allow destroying the bucket and repository while they hold data (local only)."
  type        = bool
  default     = false
}

variable "untagged_image_days" {
  description = "Days after its push an untagged image expires from the registry; tagged images never expire by policy."
  type        = number
  default     = 14
}
