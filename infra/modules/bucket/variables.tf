variable "name" {
  description = "Globally unique bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 characters of a-z, 0-9, . and -, beginning and ending with a letter or digit."
  }

  validation {
    condition     = !can(regex("\\.\\.|^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$|^(xn--|sthree-|amzn-s3-demo-)|(-s3alias|--ol-s3|\\.mrap|--x-s3|--table-s3)$", var.name))
    error_message = "name breaks an S3 naming rule: no two adjacent dots, not an IP address, no xn--, sthree- or amzn-s3-demo- prefix, no -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 suffix."
  }
}

variable "noncurrent_version_days" {
  description = "Days after which non-current object versions are deleted."
  type        = number
  default     = 90
}

variable "abort_incomplete_upload_days" {
  description = "Days after which incomplete multipart uploads are aborted."
  type        = number
  default     = 7
}

variable "enable_event_notifications" {
  description = "Send bucket events to EventBridge. Off for the local emulator, which never reads it back."
  type        = bool
  default     = true
}

variable "require_tls" {
  description = "Deny every request that is not over TLS. Off only for the plain-HTTP local emulator."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Allow destroying a non-empty bucket (local and throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
