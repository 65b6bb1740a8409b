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

variable "log_group_names" {
  description = "CloudWatch Logs groups (of this account and region) the logs service may encrypt with the key; empty for none."
  type        = list(string)
  default     = []
}
