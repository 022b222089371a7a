locals {
  environment = "production"
  name        = "commerce-${local.environment}"
}

data "aws_caller_identity" "current" {}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr_block         = var.vpc_cidr
  az_count           = var.az_count
  single_nat_gateway = var.single_nat_gateway
}

module "cluster" {
  source = "../../modules/cluster"

  name                = local.name
  kubernetes_version  = var.kubernetes_version
  subnet_ids          = module.network.private_subnet_ids
  public_access_cidrs = var.cluster_public_access_cidrs
  node_instance_types = var.node_instance_types
  node_capacity_type  = var.node_capacity_type
  node_min_size       = var.node_min_size
  node_max_size       = var.node_max_size
}

module "database" {
  source = "../../modules/database"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.database_subnet_ids
  allowed_security_group_ids = [module.cluster.cluster_security_group_id]
  cells                      = var.db_cells
  deletion_protection        = var.deletion_protection
}

module "cache" {
  source = "../../modules/cache"

  name                       = local.name
  vpc_id                     = module.network.vpc_id
  subnet_ids                 = module.network.database_subnet_ids
  allowed_security_group_ids = [module.cluster.cluster_security_group_id]
  node_type                  = var.cache_node_type
  num_node_groups            = var.cache_shards
  replicas_per_node_group    = var.cache_replicas_per_shard
}

module "storage" {
  source = "../../modules/storage"

  bucket_name          = "${local.name}-media-${data.aws_caller_identity.current.account_id}"
  cors_allowed_origins = concat(["https://*.${var.platform_domain}"], var.extra_cors_origins)
  force_destroy        = !var.deletion_protection
  cdn_aliases          = var.media_cdn_aliases
  cdn_certificate_arn  = var.media_cdn_certificate_arn
}

# The services' AWS identity: the Kubernetes service account commerce-app
# (infra/k8s/base/serviceaccount.yaml) assumes this role through EKS Pod
# Identity, which grants access to the media bucket.
data "aws_iam_policy_document" "app_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]
    principals {
      type        = "Service"
      identifiers = ["pods.eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "app" {
  name_prefix        = "${local.name}-app-"
  assume_role_policy = data.aws_iam_policy_document.app_assume.json
}

resource "aws_iam_role_policy" "app_media" {
  name   = "media-bucket"
  role   = aws_iam_role.app.id
  policy = module.storage.app_policy_json
}

resource "aws_eks_pod_identity_association" "app" {
  cluster_name    = module.cluster.cluster_name
  namespace       = var.k8s_namespace
  service_account = "commerce-app"
  role_arn        = aws_iam_role.app.arn
}
