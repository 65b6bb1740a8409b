# Scale-out mode (replicas > 1): the same server, as a launch template, in an Auto Scaling group
# behind an Application Load Balancer. AWS does the scaling and the rolling replacement;
# the pipeline only changes the image or model version in the user data.

locals {
  https        = var.certificate_arn != null
  public_ports = local.https ? [80, 443] : [80]
  # A parked live slot (live_replicas set: the previous release, weight 0) keeps a fixed small size.
  live_size     = coalesce(var.live_replicas, var.replicas)
  autoscaling   = local.scale_out && var.max_replicas != null && var.live_replicas == null
  resource_name = substr(var.name, 0, 29) # load balancer and target group names: at most 32 characters
  # Delivery steps: the listener splits requests between the live and the candidate target group.
  canary           = local.scale_out && var.candidate != null
  candidate_weight = local.canary ? var.candidate.weight : 0 # not local.candidate: its fallback object has no replicas, so the two unify to map(string)
  launched         = local.scale_out ? (local.canary ? ["live", "candidate"] : ["live"]) : []
  # Both target groups live as long as the load balancer; the listener forwards with these weights.
  weights            = { live = 100 - local.candidate_weight, candidate = local.candidate_weight }
  candidate_size     = local.canary ? coalesce(try(var.candidate.replicas, null), var.replicas) : 0
  target_group_names = { live = "${local.resource_name}-tg", candidate = "${substr(var.name, 0, 26)}-cand" }
}

resource "aws_security_group" "alb" {
  count       = local.scale_out ? 1 : 0
  name        = "${var.name}-alb"
  description = "HTTP(S) from the allowed CIDRs; the service port to the servers in the VPC"
  vpc_id      = data.aws_vpc.default.id
  tags        = var.tags

  dynamic "ingress" {
    for_each = length(var.allowed_cidrs) > 0 ? local.public_ports : []
    content {
      description = "public port ${ingress.value}"
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = var.allowed_cidrs
    }
  }

  egress {
    description = "service port on the servers"
    from_port   = var.port
    to_port     = var.port
    protocol    = "tcp"
    cidr_blocks = [data.aws_vpc.default.cidr_block]
  }
}

# One template per release: the live one, and the candidate while a delivery runs (var.candidate).
resource "aws_launch_template" "this" {
  #checkov:skip=CKV_AWS_341:hop limit 2 lets the container reach IMDSv2 (tokens required) through docker's bridge.
  for_each      = toset(local.launched)
  name_prefix   = each.key == "live" ? "${var.name}-" : "${var.name}-candidate-"
  image_id      = local.ami_id
  instance_type = var.instance_type
  ebs_optimized = true
  user_data     = base64encode(local.user_data_of[each.key])
  tags          = var.tags

  vpc_security_group_ids = [aws_security_group.this.id]

  iam_instance_profile {
    name = aws_iam_instance_profile.this.name
  }

  monitoring {
    enabled = var.detailed_monitoring
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_type = "gp3"
      volume_size = var.root_volume_size
      encrypted   = true
    }
  }

  # Instances get their tags from the group (propagate_at_launch), so the template declares
  # none; the emulator reads one back anyway (the template's own tags), so ignore that block.
  lifecycle {
    ignore_changes = [tag_specifications]
  }
}

# Where earlier versions of this module kept the live release's template and target group.
moved {
  from = aws_launch_template.this[0]
  to   = aws_launch_template.this["live"]
}

moved {
  from = aws_lb_target_group.this[0]
  to   = aws_lb_target_group.this["live"]
}

# The group's tags do not inherit the provider's default_tags; its instances should have them.
data "aws_default_tags" "current" {}

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_28:a WAF is an account-level choice with its own cost; attach one where the API is public.
  #checkov:skip=CKV_AWS_150:deletion protection is the variable load_balancer_deletion_protection (default on).
  #checkov:skip=CKV_AWS_91:access logs need a bucket whose policy lets ELB write; enabled by setting access_logs_bucket.
  count                      = local.scale_out ? 1 : 0
  name                       = local.resource_name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb[0].id]
  subnets                    = data.aws_subnets.default.ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.load_balancer_deletion_protection
  tags                       = var.tags

  dynamic "access_logs" {
    for_each = var.access_logs_bucket == null ? [] : [1]
    content {
      bucket  = var.access_logs_bucket
      prefix  = var.name
      enabled = true
    }
  }
}

# One per release, live and candidate. The candidate's is kept for as long as the load balancer (weight 0
# without a candidate): the listener always forwards to both, so a release never has to delete a target
# group that a listener still names.
resource "aws_lb_target_group" "this" {
  #checkov:skip=CKV_AWS_378:TLS ends at the load balancer; the hop to the servers stays inside the VPC.
  for_each             = local.scale_out ? local.target_group_names : {}
  name                 = each.value
  port                 = var.port
  protocol             = "HTTP"
  vpc_id               = data.aws_vpc.default.id
  deregistration_delay = 30 # the service's graceful stop takes up to 20 s (SERVE_GRACEFUL_TIMEOUT)
  tags                 = var.tags

  health_check {
    path                = "/ready"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:HTTP serves only when no certificate is given; with one, this listener redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:the TLS policy is set on the HTTPS listener; this one is plain HTTP.
  #checkov:skip=CKV2_AWS_20:the redirect to HTTPS is configured whenever a certificate is given.
  count             = local.scale_out ? 1 : 0
  load_balancer_arn = aws_lb.this[0].arn
  port              = 80
  protocol          = "HTTP"
  tags              = var.tags

  default_action {
    type = local.https ? "redirect" : "forward"

    dynamic "forward" {
      for_each = local.https ? [] : [1]
      content {
        dynamic "target_group" {
          for_each = aws_lb_target_group.this
          content {
            arn    = target_group.value.arn
            weight = local.weights[target_group.key]
          }
        }
      }
    }

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }
}

resource "aws_lb_listener" "https" {
  count             = local.scale_out && local.https ? 1 : 0
  load_balancer_arn = aws_lb.this[0].arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn
  tags              = var.tags

  default_action {
    type = "forward"
    forward {
      dynamic "target_group" {
        for_each = aws_lb_target_group.this
        content {
          arn    = target_group.value.arn
          weight = local.weights[target_group.key]
        }
      }
    }
  }
}

# /metrics is for the operators' Prometheus, not the public: the listener that forwards to the
# servers (HTTPS with a certificate, else HTTP) answers 404 itself for it. The app strips a
# trailing slash and ignores leading extra slashes, hence the three patterns.
resource "aws_lb_listener_rule" "metrics_not_public" {
  count        = local.scale_out ? 1 : 0
  listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http[0].arn
  priority     = 1
  tags         = var.tags

  action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "Not Found"
      status_code  = "404"
    }
  }

  condition {
    path_pattern {
      values = ["/metrics", "/metrics/*", "//*"]
    }
  }
}

resource "aws_autoscaling_group" "this" {
  count                     = local.scale_out ? 1 : 0
  name                      = var.name
  min_size                  = local.live_size
  max_size                  = local.autoscaling ? max(var.max_replicas, var.replicas) : local.live_size
  desired_capacity          = local.autoscaling ? null : local.live_size # the scaling policy owns it then
  vpc_zone_identifier       = data.aws_subnets.default.ids
  target_group_arns         = [aws_lb_target_group.this["live"].arn]
  health_check_type         = "ELB"
  health_check_grace_period = 300 # docker install + image pull + model fetch on first boot

  launch_template {
    id      = aws_launch_template.this["live"].id
    version = aws_launch_template.this["live"].latest_version
  }

  dynamic "instance_refresh" {
    for_each = var.instance_refresh ? [1] : []
    content {
      strategy = "Rolling"
      preferences {
        min_healthy_percentage = 50
      }
    }
  }

  dynamic "tag" {
    for_each = merge(data.aws_default_tags.current.tags, var.tags, { Name = "${var.name}-server" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }
}

resource "aws_autoscaling_policy" "cpu" {
  count                  = local.autoscaling ? 1 : 0
  name                   = "${var.name}-cpu"
  autoscaling_group_name = aws_autoscaling_group.this[0].name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    target_value = var.target_cpu_percent
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}

# The candidate release of a delivery (var.candidate): the same server with the candidate's image and
# model (its launch template and target group above), in its own group, so the listener can weigh it
# against the live one. The two groups are slots, not roles: after a promotion the "candidate" slot
# serves (weight 100) and the "live" slot keeps the previous release parked (live_replicas), and the
# next release goes into the "live" slot (pipeline/release/scale_out.py, docs/how-to/deploy-to-aws.md).

resource "aws_autoscaling_group" "candidate" {
  count                     = local.canary ? 1 : 0
  name                      = "${var.name}-candidate"
  min_size                  = local.candidate_size
  max_size                  = local.candidate_size
  desired_capacity          = local.candidate_size
  vpc_zone_identifier       = data.aws_subnets.default.ids
  target_group_arns         = [aws_lb_target_group.this["candidate"].arn]
  health_check_type         = "ELB"
  health_check_grace_period = 300

  launch_template {
    id      = aws_launch_template.this["candidate"].id
    version = aws_launch_template.this["candidate"].latest_version
  }

  dynamic "tag" {
    for_each = merge(data.aws_default_tags.current.tags, var.tags, { Name = "${var.name}-candidate" })
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }
}
