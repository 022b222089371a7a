terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }

  # Partial configuration: `terraform init -backend-config=backend.hcl`
  # (see backend.hcl.example). `terraform init -backend=false` for validate.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "commerce"
      Environment = local.environment
      ManagedBy   = "terraform"
    }
  }
}
