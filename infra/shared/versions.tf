terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
  # bucket and key come from pipeline/terraform.py; the rest from backend/<env>.s3.tfbackend
  backend "s3" {}
}
