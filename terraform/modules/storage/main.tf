# Media bucket. Objects are keyed by tenant first (<tenant_id>/products/...),
# so one store's media is one prefix: listable, exportable and deletable on
# its own, and S3's per-prefix request rates scale with the number of stores.
# Nothing is public: browsers upload with presigned PUTs issued by tenant-api
# (which only signs keys under the resolved tenant's prefix) and read through
# presigned GETs or a CDN with origin access control.

resource "aws_s3_bucket" "media" {
  #checkov:skip=CKV_AWS_18:server access logs need a log bucket per environment; CloudFront serves the reads and CloudTrail data events are the audit trail when wanted
  #checkov:skip=CKV2_AWS_62:nothing consumes object events: uploads are recorded by the API that presigned them
  #checkov:skip=CKV_AWS_144:versioning keeps replaced objects; a second-region replica is a disaster-recovery choice of the environment, not of this module
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256): with SSE-KMS every CloudFront read and presigned upload would need KMS permissions and pay per request, for public product images
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "media" {
  bucket = aws_s3_bucket.media.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "media" {
  bucket = aws_s3_bucket.media.id

  versioning_configuration {
    status = "Enabled"
  }
}

# Browsers PUT straight to S3 with a presigned URL from a store's origin.
resource "aws_s3_bucket_cors_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  cors_rule {
    allowed_methods = ["PUT", "POST"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["Content-Type", "Content-MD5", "x-amz-*"]
    expose_headers  = ["ETag"]
    max_age_seconds = 3600
  }

  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    max_age_seconds = 3600
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "media" {
  bucket = aws_s3_bucket.media.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.media]
}

# Reads go through CloudFront, which signs its requests to the bucket with
# origin access control (SigV4): the bucket stays private, and the services'
# MEDIA_PUBLIC_URL is this distribution's URL (output media_public_url).
resource "aws_cloudfront_origin_access_control" "media" {
  name                              = var.bucket_name
  description                       = "CloudFront reads of the media bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# Managed policies: CachingOptimized, and CORS-S3Origin so the Origin header
# reaches S3 and its CORS answer is cached per origin.
data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "cors_s3" {
  name = "Managed-CORS-S3Origin"
}

data "aws_cloudfront_response_headers_policy" "security" {
  name = "Managed-SecurityHeadersPolicy"
}

resource "aws_cloudfront_distribution" "media" {
  #checkov:skip=CKV_AWS_68:serves public, immutable product images from cache only; a WAF adds cost and no protection here (the APIs have their own entry)
  #checkov:skip=CKV2_AWS_47:no WAF (CKV_AWS_68), so no Log4j rule set; the origin is S3, not a Java service
  #checkov:skip=CKV_AWS_86:access logs need a log bucket per environment; CloudFront's standard metrics are on
  #checkov:skip=CKV_AWS_310:one origin, S3 itself; failover needs a replica bucket in another region (CKV_AWS_144)
  #checkov:skip=CKV_AWS_374:stores sell worldwide; no geo restriction by design
  #checkov:skip=CKV_AWS_305:objects are read by key; there is no root document to serve
  enabled         = true
  comment         = "media of ${var.bucket_name}"
  is_ipv6_enabled = true
  price_class     = var.cdn_price_class
  aliases         = var.cdn_aliases

  origin {
    origin_id                = "media"
    domain_name              = aws_s3_bucket.media.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.media.id
  }

  default_cache_behavior {
    target_origin_id           = "media"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD", "OPTIONS"]
    cached_methods             = ["GET", "HEAD", "OPTIONS"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.cors_s3.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  # With aliases, an ACM certificate in us-east-1 covering them; without, the
  # distribution's own *.cloudfront.net name and certificate.
  viewer_certificate {
    cloudfront_default_certificate = var.cdn_certificate_arn == null
    acm_certificate_arn            = var.cdn_certificate_arn
    ssl_support_method             = var.cdn_certificate_arn == null ? null : "sni-only"
    minimum_protocol_version       = var.cdn_certificate_arn == null ? "TLSv1" : "TLSv1.2_2021"
  }

  tags = var.tags
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "CloudFrontReads"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.media.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.media.arn]
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.media.arn,
      "${aws_s3_bucket.media.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "media" {
  bucket = aws_s3_bucket.media.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.media]
}

# What the services' role may do: objects only, every tenant's prefix (tenant
# scoping is the application's: keys always start with the tenant id).
data "aws_iam_policy_document" "app" {
  statement {
    sid       = "MediaObjects"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = ["${aws_s3_bucket.media.arn}/*"]
  }

  statement {
    sid       = "MediaList"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.media.arn]
  }
}
