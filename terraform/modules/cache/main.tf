# ElastiCache for Redis: carts, idempotency keys, rate limits and the
# tenant-change channel. Keys carry a per-tenant hash tag
# (t:{<tenant_id>}:...), so num_node_groups > 1 (cluster mode) shards by
# tenant without cross-slot commands.

locals {
  cluster_mode = var.num_node_groups > 1
  group        = aws_elasticache_replication_group.this
  endpoint     = local.cluster_mode ? local.group.configuration_endpoint_address : local.group.primary_endpoint_address
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-redis-"
  description = "Redis of ${var.name}"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Redis from the application"
    from_port       = 6379
    to_port         = 6379
    protocol        = "tcp"
    security_groups = var.allowed_security_group_ids
  }

  tags = merge(var.tags, { Name = "${var.name}-redis" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_31:in-transit encryption is on where var.transit_encryption_enabled (default); access is by security group from the cluster only, and an AUTH token would be one more shared secret in REDIS_URL
  #checkov:skip=CKV_AWS_191:encrypted at rest with the AWS-managed key; a customer key adds a key policy to run for no new protection
  #checkov:skip=CKV2_AWS_50:failover needs a replica: production has two per shard, staging none to save cost (var.replicas_per_node_group)
  replication_group_id = var.name
  description          = "Commerce platform cache (${var.name})"

  engine               = "redis"
  engine_version       = var.engine_version
  node_type            = var.node_type
  port                 = 6379
  parameter_group_name = local.cluster_mode ? "default.redis7.cluster.on" : "default.redis7"

  num_node_groups         = var.num_node_groups
  replicas_per_node_group = var.replicas_per_node_group
  # Failover needs a replica; cluster mode needs failover.
  automatic_failover_enabled = var.replicas_per_node_group > 0 || local.cluster_mode
  multi_az_enabled           = var.replicas_per_node_group > 0

  subnet_group_name  = aws_elasticache_subnet_group.this.name
  security_group_ids = [aws_security_group.this.id]

  at_rest_encryption_enabled = true
  transit_encryption_enabled = var.transit_encryption_enabled

  snapshot_retention_limit   = var.snapshot_retention_limit
  snapshot_window            = "02:00-03:00"
  maintenance_window         = "sun:05:30-sun:06:30"
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = var.tags
}
