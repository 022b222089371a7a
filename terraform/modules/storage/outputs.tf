output "bucket_name" {
  value = aws_s3_bucket.media.bucket
}

output "bucket_arn" {
  value = aws_s3_bucket.media.arn
}

output "bucket_regional_domain_name" {
  value = aws_s3_bucket.media.bucket_regional_domain_name
}

output "app_policy_json" {
  description = "IAM policy for the services' role (attached in the environment)."
  value       = data.aws_iam_policy_document.app.json
}

output "cdn_domain_name" {
  description = "The distribution's own host name (point a CNAME of cdn_aliases at it)."
  value       = aws_cloudfront_distribution.media.domain_name
}

output "media_public_url" {
  description = "MEDIA_PUBLIC_URL of the services: objects are read at <this>/<key>."
  value       = "https://${length(var.cdn_aliases) > 0 ? var.cdn_aliases[0] : aws_cloudfront_distribution.media.domain_name}"
}
