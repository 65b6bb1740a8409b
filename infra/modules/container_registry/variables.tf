variable "name" {
  description = "Repository name."
  type        = string
}

variable "untagged_image_days" {
  description = "Days after its push an untagged image expires. Tagged images (every build and release) never expire by policy."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_image_days >= 1 && floor(var.untagged_image_days) == var.untagged_image_days
    error_message = "untagged_image_days must be a whole number >= 1."
  }
}

variable "force_delete" {
  description = "Allow deleting the repository while it holds images (local and throwaway environments only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
