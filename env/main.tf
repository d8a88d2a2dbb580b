data "azurerm_client_config" "current" {}

# A short random suffix keeps the globally unique names (vault, storage, Cosmos DB, APIM, apps)
# free of collisions between deployments of the same name and environment.
resource "random_string" "suffix" {
  length  = 5
  lower   = true
  upper   = false
  numeric = true
  special = false
}

locals {
  prefix = "${var.name}-${var.environment}"
  # Storage account and vault names allow 24 characters; this leaves room for a prefix or suffix.
  compact         = "${substr("${var.name}${var.environment}", 0, 12)}${random_string.suffix.result}"
  unique          = "${local.prefix}-${random_string.suffix.result}"
  operator_access = length(var.operator_ip_ranges) > 0

  tags = merge(var.tags, {
    application = "patient-records"
    environment = var.environment
    managed-by  = "terraform"
  })

  alert_emails = length(var.alert_emails) > 0 ? var.alert_emails : [var.publisher_email]
}

resource "azurerm_resource_group" "main" {
  name     = "rg-${local.prefix}"
  location = var.location
  tags     = local.tags
}
