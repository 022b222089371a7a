variable "name" {
  description = "Replication group id and name prefix (at most 40 characters)."
  type        = string

  validation {
    condition     = length(var.name) <= 40
    error_message = "ElastiCache replication group ids are at most 40 characters."
  }
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on 6379 (the EKS cluster's)."
  type        = list(string)
}

variable "node_type" {
  type    = string
  default = "cache.t4g.small"
}

variable "engine_version" {
  type    = string
  default = "7.1"
}

variable "num_node_groups" {
  description = "Shards. 1 is a primary with replicas; more enables cluster mode (the client must speak Redis Cluster)."
  type        = number
  default     = 1
}

variable "replicas_per_node_group" {
  description = "Replicas per shard; 0 disables failover (staging only)."
  type        = number
  default     = 1
}

variable "transit_encryption_enabled" {
  description = "TLS between clients and Redis (rediss://; the services' Redis client must have TLS enabled)."
  type        = bool
  default     = true
}

variable "snapshot_retention_limit" {
  description = "Days of daily snapshots; carts and idempotency keys are worth a restore."
  type        = number
  default     = 3
}

variable "tags" {
  type    = map(string)
  default = {}
}
