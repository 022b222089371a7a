variable "name" {
  description = "Name prefix, e.g. commerce-production."
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Database subnets (at least two AZs)."
  type        = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 5432 (the EKS cluster's)."
  type        = list(string)
}

variable "cells" {
  description = "Cells by id (`default`, then e.g. cell-2). Each is one RDS instance."
  type = map(object({
    instance_class        = string
    allocated_storage     = number
    max_allocated_storage = number
    multi_az              = bool
  }))

  validation {
    condition     = length(var.cells) > 0 && alltrue([for k in keys(var.cells) : can(regex("^[a-z][a-z0-9-]{0,20}$", k))])
    error_message = "At least one cell; names are lowercase letters, digits and dashes (they become RDS identifiers)."
  }
}

variable "engine_version" {
  description = "PostgreSQL version; a major version lets RDS pick and upgrade the minor."
  type        = string
  default     = "15"

  validation {
    condition     = startswith(var.engine_version, "15")
    error_message = "The parameter group family is postgres15: keep engine_version on 15."
  }
}

variable "database_name" {
  type    = string
  default = "commerce"
}

variable "master_username" {
  type    = string
  default = "commerce_admin"
}

variable "force_ssl" {
  description = "Refuse unencrypted connections (the services' PostgreSQL client must have TLS enabled)."
  type        = bool
  default     = true
}

variable "log_min_duration_ms" {
  description = "Log statements slower than this."
  type        = number
  default     = 500
}

variable "backup_retention_days" {
  type    = number
  default = 14
}

variable "deletion_protection" {
  description = "Protect the instances and take a final snapshot on destroy."
  type        = bool
  default     = true
}

variable "kms_key_arn" {
  description = "KMS key for storage encryption; null uses the AWS managed key."
  type        = string
  default     = null
}

variable "tags" {
  type    = map(string)
  default = {}
}
