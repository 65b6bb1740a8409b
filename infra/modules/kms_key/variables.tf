variable "description" {
  description = "What the key encrypts."
  type        = string
}

variable "alias" {
  description = "Alias name without the alias/ prefix; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
