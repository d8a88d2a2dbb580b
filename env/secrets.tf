# Key Vault: RBAC authorization, purge protection, reachable through its private endpoint (and
# trusted Azure services); each identity may read only the secrets it uses.

resource "azurerm_key_vault" "main" {
  #checkov:skip=CKV_AZURE_189:Public network access is off unless operator_ip_ranges is set (local.operator_access), and then only those ranges pass the Deny-by-default firewall; checkov cannot evaluate the expression.
  name                          = "kv-${local.compact}"
  location                      = azurerm_resource_group.main.location
  resource_group_name           = azurerm_resource_group.main.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = local.operator_access
  tags                          = local.tags

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.operator_ip_ranges
  }
}

module "key_vault_private_endpoint" {
  source = "./modules/private_endpoint"

  name                = "pe-${azurerm_key_vault.main.name}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  subnet_id           = azurerm_subnet.private_endpoints.id
  resource_id         = azurerm_key_vault.main.id
  subresource         = "vault"
  private_dns_zone_id = azurerm_private_dns_zone.zones["vault"].id
  tags                = local.tags
}

module "key_vault_diagnostics" {
  source = "./modules/diagnostics"

  target_resource_id         = azurerm_key_vault.main.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
}

# The deployer writes secrets (Terraform here, the rotation script later); it cannot change
# role assignments or the vault through this role.
resource "azurerm_role_assignment" "deployer_secrets" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# ---- Generated secrets: ephemeral values, written write-only, never in state or plan -----------

# 42 base64 characters and "A=" encode exactly 32 bytes (252 random bits), which is the AES-256
# key patient-app's settings check expects (base64, 32 bytes).
ephemeral "random_password" "payload_encryption_key" {
  length           = 42
  special          = true
  override_special = "+/"
}

ephemeral "random_password" "idempotency_hmac_key" {
  length           = 42
  special          = true
  override_special = "+/"
}

# Function keys: the first value of each named key; rotation replaces them (scripts/).
ephemeral "random_password" "function_key" {
  for_each = local.function_key_secrets

  length  = 48
  special = false
}

locals {
  # Secret names: the app setting's name in kebab case (AUDIT_API_KEY -> audit-api-key); the two
  # MongoDB connection strings (same setting name, different accounts) carry the app's prefix.
  secret_names = {
    patient_mongodb        = "patient-mongodb-connection-string"
    audit_mongodb          = "audit-mongodb-connection-string"
    audit_api_key          = "audit-api-key"
    patient_api_key        = "patient-api-key"
    support_api_key        = "support-api-key"
    payload_encryption_key = "payload-encryption-key"
    idempotency_hmac_key   = "idempotency-hmac-key"
  }

  # Function keys by the secret that holds them: who sends them (APIM to patient-app's API and
  # support routes, patient-app to audit-app).
  function_key_secrets = toset(["patient-api-key", "support-api-key", "audit-api-key"])

  mongodb_connection_strings = {
    patient = var.mongodb_active_key == "primary" ? module.patient_data.primary_connection_string : module.patient_data.secondary_connection_string
    audit   = var.mongodb_active_key == "primary" ? module.audit_data.primary_connection_string : module.audit_data.secondary_connection_string
  }
}

resource "azurerm_key_vault_secret" "payload_encryption_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds (the function key or account key stays valid), it would only make every app start and APIM call fail.
  name             = local.secret_names.payload_encryption_key
  key_vault_id     = azurerm_key_vault.main.id
  content_type     = "base64, 32 bytes (AES-256 key for orchestration payloads)"
  value_wo         = "${ephemeral.random_password.payload_encryption_key.result}A="
  value_wo_version = var.secret_versions.payload_encryption_key

  depends_on = [azurerm_role_assignment.deployer_secrets, module.key_vault_private_endpoint]
}

resource "azurerm_key_vault_secret" "idempotency_hmac_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds (the function key or account key stays valid), it would only make every app start and APIM call fail.
  name             = local.secret_names.idempotency_hmac_key
  key_vault_id     = azurerm_key_vault.main.id
  content_type     = "base64, 32 bytes (HMAC key for Idempotency-Key values)"
  value_wo         = "${ephemeral.random_password.idempotency_hmac_key.result}A="
  value_wo_version = var.secret_versions.idempotency_hmac_key

  depends_on = [azurerm_role_assignment.deployer_secrets, module.key_vault_private_endpoint]
}

# The value of a function key as the consumer (APIM, patient-app) sends it. The tag names the
# host key that currently holds it; scripts/rotate-function-key.sh moves it between two names.
resource "azurerm_key_vault_secret" "function_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds (the function key or account key stays valid), it would only make every app start and APIM call fail.
  for_each = local.function_key_secrets

  name             = each.key
  key_vault_id     = azurerm_key_vault.main.id
  content_type     = "Azure Functions host key"
  value_wo         = ephemeral.random_password.function_key[each.key].result
  value_wo_version = var.secret_versions.function_keys
  tags = {
    "key-name" = "${each.key}-1"
  }

  depends_on = [azurerm_role_assignment.deployer_secrets, module.key_vault_private_endpoint]

  lifecycle {
    # The rotation script owns the tag after the first apply.
    ignore_changes = [tags]
  }
}

resource "azurerm_key_vault_secret" "mongodb" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds (the function key or account key stays valid), it would only make every app start and APIM call fail.
  for_each = local.mongodb_connection_strings

  name             = local.secret_names["${each.key}_mongodb"]
  key_vault_id     = azurerm_key_vault.main.id
  content_type     = "MongoDB connection string (${var.mongodb_active_key} key)"
  value_wo         = each.value
  value_wo_version = var.secret_versions.mongodb

  depends_on = [azurerm_role_assignment.deployer_secrets, module.key_vault_private_endpoint]
}

# ---- Who may read which secret -------------------------------------------------------------------

locals {
  secret_readers = {
    patient_app_mongodb       = { secret = azurerm_key_vault_secret.mongodb["patient"], principal = module.patient_app.principal_id }
    patient_app_audit_api_key = { secret = azurerm_key_vault_secret.function_key["audit-api-key"], principal = module.patient_app.principal_id }
    patient_app_payload_key   = { secret = azurerm_key_vault_secret.payload_encryption_key, principal = module.patient_app.principal_id }
    patient_app_idempotency   = { secret = azurerm_key_vault_secret.idempotency_hmac_key, principal = module.patient_app.principal_id }
    audit_app_mongodb         = { secret = azurerm_key_vault_secret.mongodb["audit"], principal = module.audit_app.principal_id }
    apim_patient_api_key      = { secret = azurerm_key_vault_secret.function_key["patient-api-key"], principal = azurerm_api_management.main.identity[0].principal_id }
    apim_support_api_key      = { secret = azurerm_key_vault_secret.function_key["support-api-key"], principal = azurerm_api_management.main.identity[0].principal_id }
  }
}

resource "azurerm_role_assignment" "secret_readers" {
  for_each = local.secret_readers

  scope                = each.value.secret.resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value.principal
  principal_type       = "ServicePrincipal"
}
