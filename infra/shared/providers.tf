# Endpoints come from the standard AWS_ENDPOINT_URL (set only for the local emulator);
# the skip_* switches are on only in env/local.tfvars.
provider "aws" {
  region                      = var.region
  max_retries                 = var.max_retries
  skip_credentials_validation = var.emulator
  skip_requesting_account_id  = var.emulator
  skip_metadata_api_check     = var.emulator
  s3_use_path_style           = var.emulator

  default_tags {
    tags = {
      Project     = var.project_name
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }
}
