# The service's servers: one hardened EC2 instance behind an Elastic IP (replicas = 1), or an
# Auto Scaling group of the same instances behind an Application Load Balancer (replicas > 1,
# see scale_out.tf). Both run the image as a systemd unit from the same user data.
#
# One-server mode is blue/green: two instance slots, `blue` and `green`. The live slot
# (var.live_slot) runs var.image/var.model_version and holds the Elastic IP; the other slot runs
# var.standby when it is set: a new release booting beside the live one (running, smoke-tested on
# its own address before the pipeline flips live_slot) or the previous release parked for a
# rollback (stopped). A release or a rollback is therefore an apply of these variables, and
# Terraform's state says which slot is live (output `slots`).

data "aws_region" "current" {}

data "aws_vpc" "default" {
  default = true
}

data "aws_subnets" "default" {
  filter {
    name   = "vpc-id"
    values = [data.aws_vpc.default.id]
  }
}

data "aws_ami" "al2023" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["amazon"]
  filter {
    name   = "name"
    values = ["al2023-ami-2023.*-x86_64"]
  }
}

locals {
  scale_out = var.replicas > 1
  # A /0 block lets the whole internet in; that is only ever over TLS (the load balancer with a certificate).
  open_to_the_world = anytrue([for cidr in var.allowed_cidrs : endswith(cidr, "/0")])
  ami_id            = var.ami_id != null ? var.ami_id : data.aws_ami.al2023[0].id
  # The live release and, in scale-out mode's delivery steps, a candidate beside it (the live one's
  # values when there is none): each server runs one of them, from the same template.
  candidate = var.candidate != null ? var.candidate : { image = var.image, model_version = var.model_version, weight = 0 }
  # One-server mode's slots: the live one, and the standby one while it holds a release.
  standby_slot = var.live_slot == "blue" ? "green" : "blue"
  slots = local.scale_out ? {} : merge(
    { (var.live_slot) = { image = var.image, model_version = var.model_version, running = true } },
    var.standby == null ? {} : { (local.standby_slot) = var.standby },
  )
  releases = merge(
    {
      live      = { image = var.image, model_version = var.model_version }
      candidate = { image = local.candidate.image, model_version = local.candidate.model_version }
    },
    { for slot, release in local.slots : slot => { image = release.image, model_version = release.model_version } },
  )
  user_data_of = { for name, release in local.releases : name => templatefile("${path.module}/templates/user_data.sh.tftpl", {
    image         = release.image
    registry      = split("/", release.image)[0]
    model_version = release.model_version
    model_bucket  = var.model_bucket_name
    environment   = var.environment
    region        = data.aws_region.current.name
    port          = var.port
    # The container answers on loopback only; HAProxy (in the user data) holds the public port.
    service_port = var.port == 8001 ? 8002 : 8001
    service      = var.name             # the EMF lines' Service dimension (logs.tf)
    log_group    = local.log_group_name # where the container's awslogs driver writes (logs.tf)
    # The unit verifies the image's signature with this key before it pulls (templates/verify-image.py).
    image_signing_public_key = var.image_signing_public_key
    verify_image             = file("${path.module}/templates/verify-image.py")
  }) }
  user_data = local.user_data_of["live"]
}

resource "aws_security_group" "this" {
  name        = "${var.name}-server"
  description = "Service port from the allowed CIDRs (one server) or the load balancer; HTTPS out"
  vpc_id      = data.aws_vpc.default.id
  tags        = var.tags

  dynamic "ingress" {
    for_each = !local.scale_out && length(var.allowed_cidrs) > 0 ? [1] : []
    content {
      description = "service port"
      from_port   = var.port
      to_port     = var.port
      protocol    = "tcp"
      cidr_blocks = var.allowed_cidrs
    }
  }

  dynamic "ingress" {
    for_each = local.scale_out ? [1] : []
    content {
      description     = "service port, from the load balancer only"
      from_port       = var.port
      to_port         = var.port
      protocol        = "tcp"
      security_groups = [aws_security_group.alb[0].id]
    }
  }

  egress {
    description = "HTTPS to AWS APIs, ECR and the OS package mirrors"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # require_https (qa, prod): the service is reachable only through TLS, which only the load
  # balancer provides. See the README, "HTTPS in qa and prod".
  lifecycle {
    precondition {
      condition     = !var.require_https || !local.scale_out || var.certificate_arn != null
      error_message = "HTTPS is required here (qa/prod): set certificate_arn for the load balancer's HTTPS listener."
    }
    precondition {
      condition     = !var.require_https || local.scale_out || length(var.allowed_cidrs) == 0
      error_message = "HTTPS is required here (qa/prod), and one server (replicas = 1) only speaks plain HTTP: keep allowed_cidrs = [] or set replicas > 1 with certificate_arn."
    }
    precondition {
      condition     = !local.open_to_the_world || (local.scale_out && var.certificate_arn != null)
      error_message = "allowed_cidrs opens the service to the whole internet over plain HTTP: name your networks (e.g. 203.0.113.0/24), or serve HTTPS (replicas > 1 with certificate_arn)."
    }
    precondition {
      # The pipeline chose these from the last apply's slots; with replicas > 1 they would deploy the old image.
      condition     = !local.scale_out || var.standby == null
      error_message = "standby (one-server blue/green) is set but replicas > 1: moving from one server to scale-out is one plain apply of the new release (image/model_version, no standby), by hand."
    }
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = "${var.name}-server"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

# Least privilege: read what the service reads of the model bucket (models/<version>/* and
# registry/champion.json, see src/sentiment/model_registry.py), decrypt with its key through S3 only,
# pull from the one repository.
data "aws_iam_policy_document" "this" {
  statement {
    sid     = "ReadModels"
    actions = ["s3:GetObject"]
    resources = [
      "${var.model_bucket_arn}/models/*",
      "${var.model_bucket_arn}/registry/champion.json",
    ]
  }
  # The service lists nothing. Listing under the same keys is granted only so that S3 can answer
  # 404 rather than 403 for a key that does not exist (a version not published, no champion
  # yet) and the service reports that rather than "access denied".
  statement {
    sid       = "ListModels"
    actions   = ["s3:ListBucket"]
    resources = [var.model_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["models/*", "registry/champion.json"]
    }
  }
  statement {
    sid       = "DecryptModels"
    actions   = ["kms:Decrypt"]
    resources = [var.model_bucket_kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
  statement {
    sid       = "PullImage"
    actions   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
    resources = [var.repository_arn]
  }
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken has no resource-level permissions; AWS requires "*".
  statement {
    sid       = "RegistryLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-server"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.this.json
}

resource "aws_iam_instance_profile" "this" {
  name = "${var.name}-server"
  role = aws_iam_role.this.name
  tags = var.tags
}

resource "aws_instance" "this" {
  for_each                    = local.slots
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = sort(data.aws_subnets.default.ids)[0]
  vpc_security_group_ids      = [aws_security_group.this.id]
  iam_instance_profile        = aws_iam_instance_profile.this.name
  monitoring                  = var.detailed_monitoring
  ebs_optimized               = true
  user_data                   = local.user_data_of[each.key]
  user_data_replace_on_change = true
  tags                        = merge(var.tags, { Name = "${var.name}-server-${each.key}", Slot = each.key })

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2 # the container reaches IMDSv2 through docker's bridge
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.root_volume_size
    encrypted   = true
  }
}

# The order of a switch is what keeps it free of downtime: the new live instance is running,
# then the Elastic IP moves to it, and only then is the other slot stopped.
resource "aws_ec2_instance_state" "live" {
  count       = local.scale_out ? 0 : 1
  instance_id = aws_instance.this[var.live_slot].id
  state       = "running"
}

resource "aws_eip" "this" {
  count  = local.scale_out ? 0 : 1
  domain = "vpc"
  tags   = var.tags
}

# A switch associates the address with the new instance first (AllowReassociation moves it in one
# call), then forgets the old association, which that call already ended.
resource "aws_eip_association" "this" {
  count               = local.scale_out ? 0 : 1
  instance_id         = aws_ec2_instance_state.live[0].instance_id
  allocation_id       = aws_eip.this[0].id
  allow_reassociation = true

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_ec2_instance_state" "standby" {
  count       = !local.scale_out && var.standby != null ? 1 : 0
  instance_id = aws_instance.this[local.standby_slot].id
  state       = var.standby.running ? "running" : "stopped"
  depends_on  = [aws_eip_association.this]
}

# State written before scale-out mode existed keeps its single server.
moved {
  from = aws_instance.this
  to   = aws_instance.this[0]
}

# ... and, before blue/green, its one instance: now the blue slot (live_slot's default).
moved {
  from = aws_instance.this[0]
  to   = aws_instance.this["blue"]
}

moved {
  from = aws_eip.this
  to   = aws_eip.this[0]
}

moved {
  from = aws_eip_association.this
  to   = aws_eip_association.this[0]
}
