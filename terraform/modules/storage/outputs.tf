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
