# A Cosmos DB for MongoDB account holding one database, reachable only through a private
# endpoint. Each app gets an account of its own, so patient-app's credentials cannot read or
# change the audit register and audit-app's cannot touch patient data.
variable "name" {
  description = "Globally unique account name."
  type        = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "database_name" {
  type = string
}

variable "max_throughput" {
  description = "Autoscale maximum RU/s shared by the database's collections."
  type        = number
}

variable "collections" {
  description = <<-EOT
    Collections by name, each sharded on `_shardKey` (docs/data-store.md). Secondary indexes
    belong to the apps: each creates its named indexes at every start (one createIndex call
    each), so Terraform declares only `_id` and leaves the rest alone. Declaring them here too
    would create same-key indexes under other names, which MongoDB rejects (IndexOptionsConflict)
    when the app then creates its own.
  EOT
  type = map(object({
    default_ttl_seconds = optional(number)
  }))
}

variable "private_endpoint_subnet_id" {
  type = string
}

variable "private_dns_zone_id" {
  description = "privatelink.mongo.cosmos.azure.com"
  type        = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "azurerm_cosmosdb_account" "this" {
  #checkov:skip=CKV_AZURE_100:Encrypted at rest with Microsoft-managed keys; a customer-managed key adds a Key Vault key whose loss makes the data unreadable, so it is an opt-in hardening step (env/README.md) rather than a default.
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  offer_type          = "Standard"
  kind                = "MongoDB"
  # 7.0 is the newest wire version Cosmos DB (RU) offers; the code keeps to the subset in
  # docs/data-store.md, which 4.2 and later serve.
  mongo_server_version = "7.0"
  minimal_tls_version  = "Tls12"

  # Private endpoint only: no public endpoint, no IP firewall exceptions, and the control-plane
  # keys cannot change metadata (databases, collections, throughput) — Terraform does that
  # through Azure Resource Manager.
  public_network_access_enabled         = false
  is_virtual_network_filter_enabled     = true
  network_acl_bypass_for_azure_services = false
  access_key_metadata_writes_enabled    = false
  automatic_failover_enabled            = false
  tags                                  = var.tags

  capabilities {
    name = "EnableMongo"
  }

  consistency_policy {
    consistency_level = "Session"
  }

  geo_location {
    location          = var.location
    failover_priority = 0
  }

  # Point-in-time restore for the last 30 days (medical and audit records).
  backup {
    type = "Continuous"
    tier = "Continuous30Days"
  }
}

resource "azurerm_cosmosdb_mongo_database" "this" {
  name                = var.database_name
  resource_group_name = var.resource_group_name
  account_name        = azurerm_cosmosdb_account.this.name

  autoscale_settings {
    max_throughput = var.max_throughput
  }
}

resource "azurerm_cosmosdb_mongo_collection" "this" {
  for_each = var.collections

  name                = each.key
  resource_group_name = var.resource_group_name
  account_name        = azurerm_cosmosdb_account.this.name
  database_name       = azurerm_cosmosdb_mongo_database.this.name
  shard_key           = "_shardKey"
  default_ttl_seconds = each.value.default_ttl_seconds

  index {
    keys   = ["_id"]
    unique = true
  }

  lifecycle {
    # The apps add their indexes at start; an apply must not drop them.
    ignore_changes = [index]
  }
}

module "private_endpoint" {
  source = "../private_endpoint"

  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  resource_id         = azurerm_cosmosdb_account.this.id
  subresource         = "MongoDB"
  private_dns_zone_id = var.private_dns_zone_id
  tags                = var.tags
}

module "diagnostics" {
  source = "../diagnostics"

  target_resource_id         = azurerm_cosmosdb_account.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
}

output "account_id" {
  value = azurerm_cosmosdb_account.this.id
}

output "account_name" {
  value = azurerm_cosmosdb_account.this.name
}

output "database_name" {
  value = azurerm_cosmosdb_mongo_database.this.name
}

# The account key is inside these; they are passed straight to Key Vault (write-only) and are
# never an output of the root module.
output "primary_connection_string" {
  value     = azurerm_cosmosdb_account.this.primary_mongodb_connection_string
  sensitive = true
}

output "secondary_connection_string" {
  value     = azurerm_cosmosdb_account.this.secondary_mongodb_connection_string
  sensitive = true
}
