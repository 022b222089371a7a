output "endpoints" {
  description = "Host of each cell, by cell name."
  value       = { for k, db in aws_db_instance.cell : k => db.address }
}

output "port" {
  value = 5432
}

output "database_name" {
  value = var.database_name
}

output "master_user_secret_arns" {
  description = "Secrets Manager ARN of each cell's master credentials."
  value       = { for k, db in aws_db_instance.cell : k => db.master_user_secret[0].secret_arn }
}

output "security_group_id" {
  value = aws_security_group.this.id
}
