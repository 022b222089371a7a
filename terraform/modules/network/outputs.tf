output "vpc_id" {
  value = aws_vpc.this.id
}

output "vpc_cidr_block" {
  value = aws_vpc.this.cidr_block
}

output "azs" {
  value = local.azs
}

output "public_subnet_ids" {
  description = "Load balancers."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "EKS nodes and pods."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "RDS and ElastiCache; no route out of the VPC."
  value       = aws_subnet.database[*].id
}
