output "endpoint_url" {
  description = "Base URL of the release."
  value       = module.server.endpoint_url
}

output "instance_id" {
  description = "EC2 instance running the release; null in scale-out mode."
  value       = module.server.instance_id
}

output "live_slot" {
  description = "One-server mode: the slot (blue or green) holding the Elastic IP; null in scale-out mode."
  value       = module.server.live_slot
}

output "slots" {
  description = "One-server mode: per slot its instance, release, whether it runs and whether it is live; null in scale-out mode."
  value       = module.server.slots
}

output "public_ip" {
  description = "Elastic IP of the release; null in scale-out mode."
  value       = module.server.public_ip
}

output "autoscaling_group_name" {
  description = "Auto Scaling group of the release in scale-out mode; null with one server."
  value       = module.server.autoscaling_group_name
}

output "launch_template_version" {
  description = "Launch template version the group runs in scale-out mode; null with one server."
  value       = module.server.launch_template_version
}

output "traffic_weights" {
  description = "Percent of the load balancer's requests per release: live and candidate (scale-out mode); null with one server."
  value       = module.server.traffic_weights
}

output "user_data" {
  description = "The rendered user data the servers boot with: what tests/infra checks with shellcheck, systemd-analyze and haproxy -c."
  value       = module.server.user_data
}

output "release_slots" {
  description = "Scale-out mode: image, model_version, weight and replicas of each slot (live, candidate); null with one server."
  value       = module.server.release_slots
}

output "release_alarms" {
  description = "Scale-out mode: the alarm names per slot that gate a delivery; null with one server."
  value       = module.server.release_alarms
}

output "cloudwatch_dimensions" {
  description = "Scale-out mode: LoadBalancer and per-slot TargetGroup dimensions of the AWS/ApplicationELB metrics; null with one server."
  value       = module.server.cloudwatch_dimensions
}
