output "kubeconfig_command" {
  value = "aws eks update-kubeconfig --region ${var.region} --name ${module.cluster.cluster_name}"
}

output "cluster_name" {
  value = module.cluster.cluster_name
}

output "database_endpoints" {
  description = "PostgreSQL host per cell; DATABASE_URL points at `default`."
  value       = module.database.endpoints
}

output "database_master_secret_arns" {
  description = "Master credentials per cell (Secrets Manager), for creating the services' login role."
  value       = module.database.master_user_secret_arns
}

output "redis_url" {
  description = "REDIS_URL of the services."
  value       = module.cache.url
}

output "media_bucket" {
  value = module.storage.bucket_name
}

output "app_role_arn" {
  value = aws_iam_role.app.arn
}

output "media_public_url" {
  description = "MEDIA_PUBLIC_URL of the services (the media bucket's CloudFront distribution)."
  value       = module.storage.media_public_url
}
