# One-server mode is blue/green: two instance slots, the Elastic IP follows var.live_slot, the other slot
# holds var.standby (running while it is checked, stopped once parked). Offline, mock provider.
# tests/integration/infra/test_blue_green_emulator.py applies the same moves against the emulator.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  name                     = "sentiment-api-dev"
  image                    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-bbbbbbbbbbbb"
  model_version            = "bbbbbbbbbbbb"
  model_bucket_name        = "sentiment-api-dev-models"
  model_bucket_arn         = "arn:aws:s3:::sentiment-api-dev-models"
  model_bucket_kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
  repository_arn           = "arn:aws:ecr:eu-west-1:123456789012:repository/sentiment-api-dev"
}

run "blue_green_the_address_follows_the_live_slot_and_the_other_is_parked" {
  command = apply
  variables {
    live_slot = "green"
    standby = {
      image         = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-aaaaaaaaaaaa"
      model_version = "aaaaaaaaaaaa"
      running       = false
    }
  }
  assert {
    condition     = aws_eip_association.this[0].instance_id == aws_instance.this["green"].id
    error_message = "the Elastic IP must follow live_slot"
  }
  assert {
    condition     = aws_ec2_instance_state.live[0].state == "running" && aws_ec2_instance_state.standby[0].state == "stopped"
    error_message = "the live slot runs; the parked one is stopped"
  }
  assert {
    condition     = output.slots["green"].live && output.slots["green"].model_version == "bbbbbbbbbbbb" && !output.slots["blue"].live && output.slots["blue"].model_version == "aaaaaaaaaaaa"
    error_message = "output slots must say which release is live where"
  }
  assert {
    condition     = strcontains(local.user_data_of["blue"], "aaaaaaaaaaaa") && strcontains(local.user_data_of["green"], "bbbbbbbbbbbb")
    error_message = "each slot boots its own release"
  }
}

run "blue_green_without_a_standby_is_one_instance" {
  command = plan
  assert {
    condition     = length(aws_instance.this) == 1 && length(aws_ec2_instance_state.standby) == 0 && output.live_slot == "blue"
    error_message = "no standby: only the live slot's instance"
  }
}

run "blue_green_a_slot_other_than_blue_or_green_is_refused" {
  command = plan
  variables {
    live_slot = "purple"
  }
  expect_failures = [var.live_slot]
}

run "blue_green_a_standby_with_replicas_above_one_is_refused" {
  command = plan
  variables {
    replicas = 2
    standby = {
      image         = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/sentiment-api-dev:0123456789ab-aaaaaaaaaaaa"
      model_version = "aaaaaaaaaaaa"
      running       = true
    }
  }
  expect_failures = [aws_security_group.this]
}
