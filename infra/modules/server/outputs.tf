output "endpoint_url" {
  description = "Base URL of the service: the Elastic IP (one server) or the load balancer's DNS name (scale-out)."
  value = (local.scale_out
    ? "${var.certificate_arn == null ? "http" : "https"}://${aws_lb.this[0].dns_name}"
  : "http://${aws_eip.this[0].public_ip}:${var.port}")
}

output "instance_id" {
  description = "ID of the EC2 instance serving the release (the live slot's); null in scale-out mode (see autoscaling_group_name)."
  value       = local.scale_out ? null : aws_instance.this[var.live_slot].id
}

output "live_slot" {
  description = "One-server mode: the slot (blue or green) that holds the Elastic IP; null in scale-out mode."
  value       = local.scale_out ? null : var.live_slot
}

output "slots" {
  description = "One-server mode: per slot (blue, green) the instance, its release and whether it runs and is live; the pipeline reads which slot is live here. null in scale-out mode."
  value = local.scale_out ? null : {
    for slot, release in local.slots : slot => {
      instance_id   = aws_instance.this[slot].id
      image         = release.image
      model_version = release.model_version
      running       = release.running
      live          = slot == var.live_slot
    }
  }
}

output "public_ip" {
  description = "Elastic IP of the server; null in scale-out mode."
  value       = local.scale_out ? null : aws_eip.this[0].public_ip
}

output "security_group_id" {
  description = "Security group of the server(s)."
  value       = aws_security_group.this.id
}

output "autoscaling_group_name" {
  description = "Auto Scaling group of the servers in scale-out mode; null with one server."
  value       = local.scale_out ? aws_autoscaling_group.this[0].name : null
}

output "launch_template_id" {
  description = "Launch template of the servers in scale-out mode; null with one server."
  value       = local.scale_out ? aws_launch_template.this["live"].id : null
}

output "launch_template_version" {
  description = "Launch template version the Auto Scaling group runs; null with one server."
  value       = local.scale_out ? aws_launch_template.this["live"].latest_version : null
}

output "traffic_weights" {
  description = "Percent of the load balancer's requests per target group: live and candidate; null with one server."
  value       = local.scale_out ? local.weights : null
}

output "candidate_target_group_arn" {
  description = "Target group of a candidate release (weight 0 without one); null with one server."
  value       = local.scale_out ? aws_lb_target_group.this["candidate"].arn : null
}

output "user_data" {
  description = "The rendered user data the servers boot with (the plan shows it here; the instance keeps only its hash)."
  value       = local.user_data
}

output "release_slots" {
  description = "Scale-out mode: what each target group (slot) holds: image, model_version, weight (percent of requests) and replicas (null: replicas); the candidate slot is null when empty. null with one server."
  value = local.scale_out ? {
    live = { image = var.image, model_version = var.model_version, weight = local.weights.live, replicas = var.live_replicas }
    candidate = local.canary ? {
      image    = var.candidate.image, model_version = var.candidate.model_version, weight = local.weights.candidate,
      replicas = try(var.candidate.replicas, null)
    } : null
  } : null
}

output "release_alarms" {
  description = "Scale-out mode: the CloudWatch alarm names per slot (live, candidate) that gate a delivery; null with one server."
  value       = local.scale_out ? local.release_alarm_names : null
}

output "cloudwatch_dimensions" {
  description = "Scale-out mode: the LoadBalancer and per-slot TargetGroup dimensions of the AWS/ApplicationELB metrics; null with one server."
  value = local.scale_out ? {
    load_balancer = aws_lb.this[0].arn_suffix
    target_groups = { for slot, group in aws_lb_target_group.this : slot => group.arn_suffix }
  } : null
}
