output "endpoint_url" {
  description = "Base URL of the service."
  value       = "http://${aws_eip.this.public_ip}:${var.port}"
}

output "instance_id" {
  description = "ID of the EC2 instance running the release."
  value       = aws_instance.this.id
}

output "public_ip" {
  description = "Elastic IP of the server."
  value       = aws_eip.this.public_ip
}

output "security_group_id" {
  description = "Security group of the server."
  value       = aws_security_group.this.id
}
