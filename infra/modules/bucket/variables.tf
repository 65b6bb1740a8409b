variable "name" {
  description = "Globally unique bucket name."
  type        = string
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
