output "model_bucket_name" {
  description = "Model bucket name."
  value       = module.model_bucket.name
}

output "model_bucket_arn" {
  description = "Model bucket ARN."
  value       = module.model_bucket.arn
}

output "model_bucket_kms_key_arn" {
  description = "KMS key encrypting the model bucket."
  value       = module.model_bucket.kms_key_arn
}

output "repository_url" {
  description = "ECR repository URL, the prefix of image references."
  value       = module.registry.url
}

output "repository_arn" {
  description = "ECR repository ARN."
  value       = module.registry.arn
}
