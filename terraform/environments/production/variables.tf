variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "platform_domain" {
  description = "Stores answer on <slug>.<platform_domain> (PLATFORM_DOMAIN of the services)."
  type        = string
  default     = "shop.example.com"
}

variable "extra_cors_origins" {
  description = "Further origins allowed to upload media (e.g. verified custom domains)."
  type        = list(string)
  default     = []
}

variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "az_count" {
  type    = number
  default = 3
}

variable "single_nat_gateway" {
  type    = bool
  default = false
}

variable "kubernetes_version" {
  type    = string
  default = "1.33"
}

variable "cluster_public_access_cidrs" {
  description = "Who may reach the Kubernetes API from the internet (office, CI runners)."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  type    = list(string)
  default = ["m7i.xlarge"]
}

variable "node_capacity_type" {
  type    = string
  default = "ON_DEMAND"
}

variable "node_min_size" {
  type    = number
  default = 3
}

variable "node_max_size" {
  type    = number
  default = 12
}

variable "db_cells" {
  description = "PostgreSQL instances by cell id. `default` holds the control schema and the default cell (DATABASE_URL); every other one is a cell registered with the control plane."
  type = map(object({
    instance_class        = string
    allocated_storage     = number
    max_allocated_storage = number
    multi_az              = bool
  }))
  default = {
    default = {
      instance_class        = "db.r6g.xlarge"
      allocated_storage     = 100
      max_allocated_storage = 1000
      multi_az              = true
    }
    # A dedicated cell for a large store, or the next shared one:
    # cell-2 = { instance_class = "db.r6g.xlarge", allocated_storage = 100, max_allocated_storage = 1000, multi_az = true }
  }
}

variable "cache_node_type" {
  type    = string
  default = "cache.r7g.large"
}

variable "cache_shards" {
  type    = number
  default = 1
}

variable "cache_replicas_per_shard" {
  type    = number
  default = 2
}

variable "deletion_protection" {
  description = "Protect databases and the media bucket from terraform destroy."
  type        = bool
  default     = true
}

variable "k8s_namespace" {
  description = "Namespace the platform is deployed to (infra/k8s overlay)."
  type        = string
  default     = "commerce"
}

variable "media_cdn_aliases" {
  description = "Host names of the media CDN, e.g. [\"media.<platform_domain>\"]; empty: its cloudfront.net name."
  type        = list(string)
  default     = []
}

variable "media_cdn_certificate_arn" {
  description = "ACM certificate (us-east-1) for media_cdn_aliases."
  type        = string
  default     = null
}
