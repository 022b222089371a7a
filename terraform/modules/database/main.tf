# One RDS PostgreSQL 15 instance per cell. A cell holds the commerce schema of
# the tenants placed on it; the `default` one also holds the control schema
# (the services' DATABASE_URL). Adding a cell is adding a key to var.cells,
# then registering it with the control plane (control.cell names the
# environment variable that carries its URL) and adding that variable to
# platform-secrets.

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-postgres-"
  description = "PostgreSQL cells of ${var.name}"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL from the application"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = var.allowed_security_group_ids
  }

  tags = merge(var.tags, { Name = "${var.name}-postgres" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${var.name}-pg15-"
  family      = "postgres15"
  description = "Commerce cells (${var.name})"

  parameter {
    name  = "rds.force_ssl"
    value = var.force_ssl ? "1" : "0"
  }

  # A transaction left open holds its row locks and its pooled connection;
  # the services never idle inside one, so this only ends leaks.
  parameter {
    name  = "idle_in_transaction_session_timeout"
    value = "60000"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = tostring(var.log_min_duration_ms)
  }

  parameter {
    name  = "log_lock_waits"
    value = "1"
  }

  parameter {
    name         = "shared_preload_libraries"
    value        = "pg_stat_statements"
    apply_method = "pending-reboot"
  }

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "cell" {
  #checkov:skip=CKV_AWS_157:multi-AZ is per cell (var.cells): on in production, off in staging to halve its cost
  #checkov:skip=CKV_AWS_293:deletion protection is var.deletion_protection: on in production, off in staging so it can be torn down
  #checkov:skip=CKV_AWS_118:Performance Insights and the exported PostgreSQL logs cover what is watched; enhanced OS metrics would need a monitoring role per environment
  #checkov:skip=CKV_AWS_354:Performance Insights data is encrypted with the AWS-managed RDS key; a customer key would add a key policy to run for no new protection
  for_each = var.cells

  identifier     = "${var.name}-${each.key}"
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = each.value.instance_class

  allocated_storage     = each.value.allocated_storage
  max_allocated_storage = each.value.max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  db_name  = var.database_name
  username = var.master_username
  # RDS keeps the master password in Secrets Manager and rotates it; it never
  # enters the terraform state. The services use their own login role.
  manage_master_user_password = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  publicly_accessible    = false
  # IAM tokens as an alternative to the login role's password (rds-db:connect).
  iam_database_authentication_enabled = true
  multi_az                            = each.value.multi_az

  backup_retention_period  = var.backup_retention_days
  backup_window            = "03:00-04:00"
  maintenance_window       = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot    = true
  delete_automated_backups = false

  auto_minor_version_upgrade  = true
  allow_major_version_upgrade = false
  apply_immediately           = false

  performance_insights_enabled          = true
  performance_insights_retention_period = 7
  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]

  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? "${var.name}-${each.key}-final" : null

  tags = merge(var.tags, { Cell = each.key })
}
