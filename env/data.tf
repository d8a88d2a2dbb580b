# Cosmos DB for MongoDB: one account per app (see modules/mongo_account), private endpoint only.
# Collections and shard keys follow docs/data-store.md; every document carries its shard key in
# `_shardKey`, and each app creates the secondary indexes it queries by.

module "patient_data" {
  source = "./modules/mongo_account"

  name                       = "cosmos-${local.compact}-patients"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  database_name              = var.patient_database_name
  max_throughput             = var.cosmos_max_throughput
  private_endpoint_subnet_id = azurerm_subnet.private_endpoints.id
  private_dns_zone_id        = azurerm_private_dns_zone.zones["mongo"].id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  tags                       = local.tags

  # docs/data-store.md: patient-app's collections; it creates their indexes at start.
  collections = {
    patients        = {}
    patientVersions = {}
    tests           = {}
    idempotencyKeys = {}
    # Support restart links (patient-app/src/support/restart-links.ts). The account's keys cannot
    # create collections (access_key_metadata_writes_enabled = false), so every one is declared here.
    supportRestarts = {}
  }
}

module "audit_data" {
  source = "./modules/mongo_account"

  name                       = "cosmos-${local.compact}-audit"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  database_name              = var.audit_database_name
  max_throughput             = var.cosmos_max_throughput
  private_endpoint_subnet_id = azurerm_subnet.private_endpoints.id
  private_dns_zone_id        = azurerm_private_dns_zone.zones["mongo"].id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  tags                       = local.tags

  # docs/data-store.md#audit-register: audit-app creates the indexes at start.
  collections = {
    audits = {}
  }
}
