# A small store fleet as code: two stores, each with a custom domain, a staff
# member, payment and notification settings, an API key for webhooks and a
# webhook. The provider reads COMMERCE_ENDPOINT, COMMERCE_TOKEN (a platform
# API token) and COMMERCE_DATA_PLANE_URL from the environment; see
# terraform/README.md.

terraform {
  required_version = ">= 1.5"
  required_providers {
    commerce = {
      source = "commerce-platform/commerce"
    }
  }
}

provider "commerce" {}

variable "stores" {
  description = "The fleet, by slug."
  type = map(object({
    name        = string
    currency    = string
    plan        = optional(string)
    status      = optional(string)
    domain      = string
    owner_email = string
    staff_email = string
    email_from  = string
    smtp_host   = string
    webhook_url = string
  }))
  default = {
    "fleet-north" = {
      name        = "Fleet North"
      currency    = "USD"
      plan        = "starter"
      domain      = "shop.fleet-north.example"
      owner_email = "owner@fleet-north.example"
      staff_email = "staff@fleet-north.example"
      email_from  = "orders@fleet-north.example"
      smtp_host   = "smtp.fleet-north.example"
      webhook_url = "https://hooks.fleet-north.example/commerce"
    }
    "fleet-south" = {
      name        = "Fleet South"
      currency    = "EUR"
      domain      = "shop.fleet-south.example"
      owner_email = "owner@fleet-south.example"
      staff_email = "staff@fleet-south.example"
      email_from  = "orders@fleet-south.example"
      smtp_host   = "smtp.fleet-south.example"
      webhook_url = "https://hooks.fleet-south.example/commerce"
    }
  }
}

variable "owner_password" {
  description = "The stores' owners' password (used when a store is created)."
  type        = string
  sensitive   = true
}

variable "staff_password" {
  description = "The staff members' password (used when they are added)."
  type        = string
  sensitive   = true
}

variable "smtp_password" {
  description = "The stores' SMTP password."
  type        = string
  sensitive   = true
}

variable "purge_on_destroy" {
  description = "Destroy purges the stores' data instead of only closing them."
  type        = bool
  default     = false
}

data "commerce_plans" "all" {}

resource "commerce_store" "fleet" {
  for_each = var.stores

  slug             = each.key
  name             = each.value.name
  currency         = each.value.currency
  plan             = each.value.plan
  status           = each.value.status
  owner_email      = each.value.owner_email
  owner_password   = var.owner_password
  purge_on_destroy = var.purge_on_destroy
}

resource "commerce_store_domain" "fleet" {
  for_each = var.stores

  store_id = commerce_store.fleet[each.key].id
  host     = each.value.domain
}

resource "commerce_store_staff" "fleet" {
  for_each = var.stores

  store_id = commerce_store.fleet[each.key].id
  email    = each.value.staff_email
  password = var.staff_password
  role     = "staff"
}

resource "commerce_store_payment_settings" "fleet" {
  for_each = var.stores

  store_id         = commerce_store.fleet[each.key].id
  payment_provider = "test"
}

resource "commerce_store_notification_settings" "fleet" {
  for_each = var.stores

  store_id      = commerce_store.fleet[each.key].id
  email_from    = each.value.email_from
  smtp_host     = each.value.smtp_host
  smtp_port     = 587
  smtp_username = "commerce"
  smtp_password = var.smtp_password
  smtp_tls      = "starttls"
}

resource "commerce_store_api_key" "webhooks" {
  for_each = var.stores

  store_id = commerce_store.fleet[each.key].id
  name     = "terraform-webhooks"
  scopes   = ["webhooks:read", "webhooks:write"]
}

resource "commerce_store_webhook" "fleet" {
  for_each = var.stores

  store_id = commerce_store.fleet[each.key].id
  api_key  = commerce_store_api_key.webhooks[each.key].key
  url      = each.value.webhook_url
  events   = ["order.paid", "order.refunded"]
}

output "store_urls" {
  description = "Where each store answers."
  value       = { for slug, store in commerce_store.fleet : slug => store.url }
}

output "domain_records" {
  description = "The TXT record each custom domain needs before it can be verified."
  value = {
    for slug, domain in commerce_store_domain.fleet :
    domain.host => { name = domain.verification_name, value = domain.verification_value }
  }
}

output "plans" {
  description = "The platform's plans."
  value       = [for plan in data.commerce_plans.all.plans : plan.id]
}
