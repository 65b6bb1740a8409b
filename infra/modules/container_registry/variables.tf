variable "name" {
  description = "Repository name."
  type        = string
}

variable "keep_images" {
  description = "How many most recent images the lifecycle policy keeps."
  type        = number
  default     = 30
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
