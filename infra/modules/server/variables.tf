variable "name" {
  description = "Name prefix for the server's resources."
  type        = string
}

variable "image" {
  description = "Full image reference to run, pinned by tag (registry/repository:tag) or digest (@sha256:...)."
  type        = string

  validation {
    # A release must be immutable: a mutable tag such as `latest` could change under a running server.
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "image must be registry/repository:tag or @sha256:digest, and the tag must not be latest."
  }
}

variable "model_version" {
  description = "Model version the service loads from the model bucket (a version, or `champion`)."
  type        = string
}

variable "model_bucket_name" {
  description = "Name of the model bucket the service reads."
  type        = string
}

variable "model_bucket_arn" {
  description = "ARN of the model bucket; the instance may only read it."
  type        = string
}

variable "model_bucket_kms_key_arn" {
  description = "ARN of the KMS key encrypting the model bucket; the instance may only decrypt with it."
  type        = string
}

variable "repository_arn" {
  description = "ARN of the ECR repository holding the image; the instance may only pull from it."
  type        = string
}

variable "port" {
  description = "Port the service listens on, on the instance and in the security group."
  type        = number
  default     = 8000
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to reach the service port. Empty means nobody."
  type        = list(string)
  default     = []
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
  default     = "t3.small"
}

variable "ami_id" {
  description = "AMI to boot; null looks up the latest Amazon Linux 2023."
  type        = string
  default     = null
}

variable "root_volume_size" {
  description = "Root volume size in GiB (gp3, encrypted)."
  type        = number
  default     = 20
}

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics. Off for the local emulator, where it hangs."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
