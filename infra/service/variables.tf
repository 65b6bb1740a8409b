variable "project_name" {
  description = "Project name (PROJECT_NAME), used in tags and resource names."
  type        = string
}

variable "environment" {
  description = "Environment (PROJECT_ENV): local, dev, qa or prod (the server module validates it)."
  type        = string
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

variable "image" {
  description = "Image reference of the release (from the build stage); validated by modules/server."
  type        = string
}

variable "image_signing_public_key" {
  description = "PEM public key the instances check the image's signature with (the pipeline passes the environment's); validated by modules/server."
  type        = string
  default     = ""
}

variable "model_version" {
  description = "Model version of the release (from the publish stage): 12 lowercase hex characters, validated by modules/server."
  type        = string
}

variable "model_bucket_name" {
  description = "Model bucket name (output of infra/shared); validated by modules/server."
  type        = string
}

variable "model_bucket_arn" {
  description = "Model bucket ARN (output of infra/shared)."
  type        = string
}

variable "model_bucket_kms_key_arn" {
  description = "Model bucket KMS key ARN (output of infra/shared)."
  type        = string
}

variable "repository_arn" {
  description = "ECR repository ARN (output of infra/shared)."
  type        = string
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to reach the service (empty: nobody). qa/prod serve only over HTTPS: non-empty there needs replicas > 1 and certificate_arn; anywhere, 0.0.0.0/0 needs HTTPS (replicas > 1 and certificate_arn)."
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

variable "detailed_monitoring" {
  description = "One-minute CloudWatch metrics. Off for the emulator, where it hangs."
  type        = bool
  default     = true
}

variable "replicas" {
  description = "Servers to run: 1 = one instance + Elastic IP; more = Auto Scaling group behind a load balancer."
  type        = number
  default     = 1
}

variable "max_replicas" {
  description = "Scale-out mode: upper bound for CPU target tracking; null keeps exactly replicas."
  type        = number
  default     = null
}

variable "instance_refresh" {
  description = "Scale-out mode: rolling instance refresh on a new release. Off only for the emulator."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ACM certificate for the load balancer's HTTPS listener; null = HTTP only."
  type        = string
  default     = null
}

variable "load_balancer_deletion_protection" {
  description = "Scale-out mode: protect the load balancer from deletion."
  type        = bool
  default     = true
}

variable "alarms_enabled" {
  description = "CloudWatch alarms on the release (alarms.tf): 5xx rate and p99 at the load balancer, status checks. Never with the emulator."
  type        = bool
  default     = true
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic the CloudWatch alarms notify (alarm and OK); null = alarms without notification."
  type        = string
  default     = null
}

variable "alarm_5xx_percent" {
  description = "Alarm when more than this percentage of requests is answered 5xx over 5 minutes (scale-out mode)."
  type        = number
  default     = 1
}

variable "alarm_p99_seconds" {
  description = "Alarm when the load balancer's target response time p99 exceeds this for 10 minutes (scale-out mode)."
  type        = number
  default     = 0.25
}

variable "candidate" {
  description = "Scale-out mode (replicas > 1): a second release beside the live one getting `weight` percent of the requests (the ALB's weighted target groups). The single source of truth for the weights: the pipeline sets it per delivery step. null: no candidate."
  type = object({
    image         = string
    model_version = string
    weight        = number
    replicas      = optional(number) # null: replicas; the pipeline sets a parked or aborted release's size
  })
  default = null
}

variable "live_replicas" {
  description = "Scale-out mode: size of the live slot while it holds a parked (previous) or aborted release at weight 0; null: replicas. Set by the pipeline (pipeline/release/scale_out.py)."
  type        = number
  default     = null
}

variable "live_slot" {
  description = "One-server mode (replicas = 1): the instance slot (blue or green) that runs image/model_version and holds the Elastic IP. The pipeline reads it from the output `slots` and flips it to switch or roll back."
  type        = string
  default     = "blue"
}

variable "standby" {
  description = "One-server mode: the release in the other slot: a new release booting beside the live one (running = true) or the previous one parked for a rollback (running = false, stopped). null: none."
  type = object({
    image         = string
    model_version = string
    running       = bool
  })
  default = null
}
