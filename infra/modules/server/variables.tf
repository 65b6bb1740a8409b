# The rules the validations below share. Root stacks pass these values through without checking
# them again: this module is the one place each rule is written.
locals {
  # registry/repository:tag, registry/repository@sha256:<64 hex> or both; the registry is a host name
  # with a dot or a port, or localhost. Also what keeps the user data safe: no whitespace, quote,
  # newline, $, backtick, ; or %.
  image_reference = "^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+(:[0-9]{1,5})?|[a-z0-9]([a-z0-9-]*[a-z0-9])?:[0-9]{1,5}|localhost)(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64})$"
  # A published model version (the pipeline resolves `champion` before planning).
  model_version = "^[0-9a-f]{12}$"
}

variable "name" {
  description = "Name prefix for the server's resources."
  type        = string
}

variable "image_signing_public_key" {
  description = "PEM public key the instance checks the image's signature with before it runs it (the environment's, committed under pipeline/supply_chain/image_signing_keys/); empty: every image is refused."
  type        = string
  default     = ""

  validation {
    condition     = var.image_signing_public_key == "" || can(regex("^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n?$", var.image_signing_public_key))
    error_message = "image_signing_public_key must be one PEM public key (or empty)."
  }
}

variable "environment" {
  description = "Environment the service runs in (its PROJECT_ENV): picks the committed public key every model signature must verify with."
  type        = string
  default     = "local"

  validation {
    condition     = contains(["local", "dev", "qa", "prod"], var.environment)
    error_message = "environment must be local, dev, qa or prod."
  }
}

variable "image" {
  description = "Full image reference to run: registry/repository:tag, registry/repository@sha256:digest or both; the registry is a host name with a dot or a port, or localhost."
  type        = string

  validation {
    condition     = can(regex(local.image_reference, var.image))
    error_message = "image must be registry/repository:tag or registry/repository@sha256:<64 hex> (registry: a host name with a dot or a port, or localhost), with nothing else in it."
  }

  validation {
    # A release must be immutable: a mutable tag such as `latest` could change under a running server.
    condition     = !can(regex(":latest(@|$)", var.image))
    error_message = "image must not use the tag latest: pin a release tag or a digest."
  }
}

variable "model_version" {
  description = "Model version the service loads from the model bucket: the 12 lowercase hex characters of a published version (the pipeline resolves `champion` before planning)."
  type        = string

  validation {
    condition     = can(regex(local.model_version, var.model_version))
    error_message = "model_version must be exactly 12 lowercase hex characters (a published model version)."
  }
}

variable "model_bucket_name" {
  description = "Name of the model bucket the service reads."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.model_bucket_name))
    error_message = "model_bucket_name must be 3-63 characters of a-z, 0-9, . and -, beginning and ending with a letter or digit."
  }

  validation {
    condition     = !can(regex("\\.\\.|^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$", var.model_bucket_name))
    error_message = "model_bucket_name breaks an S3 naming rule: no two adjacent dots, not an IP address, no xn--, sthree- or amzn-s3-demo- prefix, no -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 suffix."
  }
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

  validation {
    condition     = var.port >= 1 && var.port <= 65535 && floor(var.port) == var.port
    error_message = "port must be a whole number from 1 to 65535."
  }
}

variable "allowed_cidrs" {
  description = "CIDR blocks allowed to reach the service: the service port of the one server, or ports 80/443 of the load balancer. Empty means nobody."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.allowed_cidrs : can(cidrnetmask(cidr))])
    error_message = "allowed_cidrs must be IPv4 CIDR blocks such as 203.0.113.0/24."
  }
}

variable "require_https" {
  description = "Serve only over HTTPS (qa and prod): the load balancer must have certificate_arn, and one server (no TLS of its own) may take no ingress at all."
  type        = bool
  default     = false
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

variable "replicas" {
  description = "Servers to run. 1: one instance behind an Elastic IP. More: an Auto Scaling group of that size behind an Application Load Balancer, with rolling instance refreshes."
  type        = number
  default     = 1
  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number >= 1."
  }
}

variable "max_replicas" {
  description = "Scale-out mode: upper bound for CPU target tracking (replicas is the lower bound). null keeps the group at exactly replicas."
  type        = number
  default     = null
}

variable "target_cpu_percent" {
  description = "Scale-out mode with max_replicas: the group's average CPU the scaling policy holds."
  type        = number
  default     = 60
}

variable "instance_refresh" {
  description = "Scale-out mode: roll a new launch template version (new image or model) through the group, at least 50% healthy. Off only for the emulator, which does not implement it."
  type        = bool
  default     = true
}

variable "certificate_arn" {
  description = "ACM certificate for an HTTPS listener (port 80 then redirects to 443). null: HTTP only."
  type        = string
  default     = null
}

variable "load_balancer_deletion_protection" {
  description = "Scale-out mode: refuse to delete the load balancer (turn off to destroy an environment)."
  type        = bool
  default     = true
}

variable "access_logs_bucket" {
  description = "S3 bucket for the load balancer's access logs (its policy must let ELB write). null: no access logs."
  type        = string
  default     = null
}

variable "candidate" {
  description = "Scale-out mode: a second release beside the live one (its own launch template, Auto Scaling group and target group) that gets `weight` percent of the listener's requests; the delivery steps of quality_gates/delivery.toml set the weight. null: every request goes to the live release."
  type = object({
    image         = string
    model_version = string
    weight        = number
    replicas      = optional(number) # null: replicas; a parked or aborted release: small or 0
  })
  default = null

  validation {
    condition     = var.candidate == null || try(var.candidate.weight >= 0 && var.candidate.weight <= 100 && floor(var.candidate.weight) == var.candidate.weight, false)
    error_message = "candidate.weight must be a whole percent from 0 to 100."
  }

  validation {
    condition     = var.candidate == null || try(var.candidate.replicas == null ? true : var.candidate.replicas >= 0 && floor(var.candidate.replicas) == var.candidate.replicas, false)
    error_message = "candidate.replicas must be a whole number of servers, 0 or more (null: replicas)."
  }

  validation {
    condition     = var.candidate == null || try(can(regex(local.model_version, var.candidate.model_version)), false)
    error_message = "candidate.model_version must be exactly 12 lowercase hex characters (a published model version)."
  }

  validation {
    condition     = var.candidate == null || try(can(regex(local.image_reference, var.candidate.image)) && !can(regex(":latest(@|$)", var.candidate.image)), false)
    error_message = "candidate.image must be a pinned image reference (registry/repository:tag or @sha256:digest, not latest)."
  }
}

variable "live_replicas" {
  description = "Scale-out mode: size of the live slot's group while it holds a parked release (weight 0: the previous release, kept for a rollback in one apply) or an aborted one (0); null: replicas, with autoscaling."
  type        = number
  default     = null

  validation {
    condition     = var.live_replicas == null ? true : try(var.live_replicas >= 0 && floor(var.live_replicas) == var.live_replicas, false)
    error_message = "live_replicas must be a whole number of servers, 0 or more (null: replicas)."
  }
}

variable "release_alarms" {
  description = "Scale-out mode: CloudWatch alarms on each target group (5xx rate, p99 response time, unhealthy hosts), which gate the delivery steps (release_alarms.tf)."
  type        = bool
  default     = true
}

variable "release_alarm_actions" {
  description = "ARNs the release alarms notify (alarm and OK), e.g. an SNS topic; empty: none."
  type        = list(string)
  default     = []
}

variable "release_alarm_5xx_percent" {
  description = "A release alarm fires when more than this percentage of a target group's requests is answered 5xx by its servers for 2 minutes."
  type        = number
  default     = 1
}

variable "release_alarm_p99_seconds" {
  description = "A release alarm fires when a target group's p99 TargetResponseTime exceeds this for 3 minutes."
  type        = number
  default     = 0.25
}

variable "live_slot" {
  description = "One-server mode (replicas = 1): the instance slot, blue or green, that runs image/model_version and holds the Elastic IP. Flipping it (with standby naming the release of the other slot) is a switch or a rollback."
  type        = string
  default     = "blue"

  validation {
    condition     = contains(["blue", "green"], var.live_slot)
    error_message = "live_slot must be blue or green."
  }
}

variable "standby" {
  description = "One-server mode: the release of the slot that is not live, beside the live one: a new release booting (running = true; smoke-tested on its own address before live_slot flips to it) or the previous release parked for a rollback (running = false: stopped, only its volume costs). null: no second instance."
  type = object({
    image         = string
    model_version = string
    running       = bool
  })
  default = null

  validation {
    condition     = var.standby == null || try(can(regex(local.model_version, var.standby.model_version)), false)
    error_message = "standby.model_version must be exactly 12 lowercase hex characters (a published model version)."
  }

  validation {
    condition     = var.standby == null || try(can(regex(local.image_reference, var.standby.image)) && !can(regex(":latest(@|$)", var.standby.image)), false)
    error_message = "standby.image must be a pinned image reference (registry/repository:tag or @sha256:digest, not latest)."
  }
}
