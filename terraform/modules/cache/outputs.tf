output "endpoint" {
  description = "Primary endpoint, or the configuration endpoint in cluster mode."
  value       = local.endpoint
}

output "port" {
  value = 6379
}

output "url" {
  description = "REDIS_URL for the services (no database index in cluster mode)."
  value       = "${var.transit_encryption_enabled ? "rediss" : "redis"}://${local.endpoint}:6379${local.cluster_mode ? "" : "/0"}"
}

output "security_group_id" {
  value = aws_security_group.this.id
}
