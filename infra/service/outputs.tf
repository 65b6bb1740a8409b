output "endpoint_url" {
  description = "Base URL of the release."
  value       = module.server.endpoint_url
}

output "instance_id" {
  description = "EC2 instance running the release."
  value       = module.server.instance_id
}

output "public_ip" {
  description = "Elastic IP of the release."
  value       = module.server.public_ip
}
