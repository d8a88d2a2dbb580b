# Cosmos DB for MongoDB: one account per app (see modules/mongo_account), private endpoint only.
# Collections, shard keys and indexes follow docs/data-store.md; every document carries its
# shard key in `_shardKey`.

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

  collections = {
    # The live state of each patient; `_shardKey` is the patient id. Search filters on these.
    patients = {
      indexes = [
        { keys = ["patient.lastName"] },
        { keys = ["patient.firstName"] },
        { keys = ["dateOfBirthDate"] },
        { keys = ["patient.postCode"] },
        { keys = ["patient.insuranceNumber"] },
        { keys = ["lastUpdated"] },
        { keys = ["deleted"] },
      ]
    }
    # One document per claimed version, `_id` `${patientId}:${version}` (unique by `_id`).
    patientVersions = {
      indexes = [
        { keys = ["patientId"] },
        { keys = ["operationId"] },
      ]
    }
    # Test results, `_shardKey` the patient id (read per patient).
    tests = {
      indexes = [
        { keys = ["patientId"] },
        { keys = ["operationId"] },
      ]
    }
    # Idempotency keys (HMAC of the caller's key).
    idempotencyKeys = {
      indexes = [
        { keys = ["operationId"] },
        { keys = ["createdAt"] },
      ]
    }
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

  collections = {
    # Audit records, queried by resource, correlation (operation) id and time range.
    auditRecords = {
      indexes = [
        { keys = ["resource.type", "resource.id"] },
        { keys = ["correlationId"] },
        { keys = ["timestamp"] },
        { keys = ["idempotencyKey"] },
      ]
    }
  }
}
