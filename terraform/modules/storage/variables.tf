variable "bucket_name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "cors_allowed_origins" {
  description = "Origins allowed to upload with presigned URLs, e.g. https://*.shop.example.com (custom domains need adding too)."
  type        = list(string)
}

variable "noncurrent_version_expiration_days" {
  description = "How long a replaced or deleted object stays recoverable."
  type        = number
  default     = 30
}

variable "force_destroy" {
  description = "Allow terraform destroy to empty the bucket (never in production)."
  type        = bool
  default     = false
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "cdn_aliases" {
  description = "Host names of the media CDN (e.g. media.shop.example.com); empty: the distribution's cloudfront.net name."
  type        = list(string)
  default     = []
}

variable "cdn_certificate_arn" {
  description = "ACM certificate in us-east-1 covering cdn_aliases; required when cdn_aliases is set."
  type        = string
  default     = null
}

variable "cdn_price_class" {
  description = "CloudFront price class (edge locations served)."
  type        = string
  default     = "PriceClass_100"
}
