# One Key Vault per app (modules/key_vault): each app's identity reads its own vault only, so
# audit-app cannot read patient-app's keys and the other way round. APIM reads exactly the two
# function-key secrets it sends to patient-app.

module "patient_vault" {
  source = "./modules/key_vault"

  name                       = "kv-${local.compact}-p"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  operator_ip_ranges         = var.operator_ip_ranges
  private_endpoint_subnet_id = azurerm_subnet.private_endpoints.id
  private_dns_zone_id        = azurerm_private_dns_zone.zones["vault"].id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  deployer_principal_id      = data.azurerm_client_config.current.object_id
  tags                       = local.tags
}

module "audit_vault" {
  source = "./modules/key_vault"

  name                       = "kv-${local.compact}-a"
  location                   = azurerm_resource_group.main.location
  resource_group_name        = azurerm_resource_group.main.name
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  operator_ip_ranges         = var.operator_ip_ranges
  private_endpoint_subnet_id = azurerm_subnet.private_endpoints.id
  private_dns_zone_id        = azurerm_private_dns_zone.zones["vault"].id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
  deployer_principal_id      = data.azurerm_client_config.current.object_id
  tags                       = local.tags
}

locals {
  # Secret names are the app setting names in kebab case (AUDIT_API_KEY -> audit-api-key), the
  # mapping platform/src/secrets/secret-names.ts applies when it reads a setting from the vault.
  # patient-api-key and support-api-key are the function keys APIM sends to patient-app.
  secret_names = {
    mongodb_connection_string = "mongodb-connection-string"
    audit_api_key             = "audit-api-key"
    payload_encryption_key    = "payload-encryption-key"
    idempotency_hmac_key      = "idempotency-hmac-key"
    # The keys a rotation still accepts (docs/key-rotation.md); blank outside a rotation.
    payload_encryption_previous_keys = "payload-encryption-previous-keys"
    idempotency_hmac_previous_keys   = "idempotency-hmac-previous-keys"
    continuation_token_key           = "continuation-token-key"
    patient_api_key                  = "patient-api-key"
    support_api_key                  = "support-api-key"
  }

  # Function keys by the secret that holds them, with the app whose host key it is. The
  # consumer's vault holds it: APIM's keys and the audit key patient-app sends are all in
  # patient-app's vault.
  function_keys = {
    "patient-api-key" = { app = "patient-app" }
    "support-api-key" = { app = "patient-app" }
    "audit-api-key"   = { app = "audit-app" }
  }

  mongodb_connection_strings = {
    patient = var.mongodb_active_key == "primary" ? module.patient_data.primary_connection_string : module.patient_data.secondary_connection_string
    audit   = var.mongodb_active_key == "primary" ? module.audit_data.primary_connection_string : module.audit_data.secondary_connection_string
  }

  vaults = {
    patient = module.patient_vault
    audit   = module.audit_vault
  }
}

# ---- Generated secrets: ephemeral values, written write-only, never in state or plan -----------

# 42 base64 characters and "A=" encode exactly 32 bytes (252 random bits): the base64 AES-256
# and HMAC keys patient-app's settings check expects.
ephemeral "random_password" "payload_encryption_key" {
  length           = 42
  special          = true
  override_special = "+/"
}

# Signs audit-app's continuation tokens (any long random string).
ephemeral "random_password" "continuation_token_key" {
  length  = 48
  special = false
}

ephemeral "random_password" "idempotency_hmac_key" {
  length           = 42
  special          = true
  override_special = "+/"
}

# The first value of each function key; scripts/rotate-function-key.sh replaces them.
ephemeral "random_password" "function_key" {
  for_each = local.function_keys

  length  = 48
  special = false
}

resource "azurerm_key_vault_secret" "payload_encryption_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds, it would only make every app start fail.
  name             = local.secret_names.payload_encryption_key
  key_vault_id     = module.patient_vault.id
  content_type     = "base64, 32 bytes (AES-256 key for orchestration payloads)"
  value_wo         = "${ephemeral.random_password.payload_encryption_key.result}A="
  value_wo_version = var.secret_versions.payload_encryption_key

  depends_on = [module.patient_vault]
}

resource "azurerm_key_vault_secret" "audit_continuation_token_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would only make audit-app's start fail.
  name             = local.secret_names.continuation_token_key
  key_vault_id     = module.audit_vault.id
  content_type     = "Signing key for audit-app continuation tokens"
  value_wo         = ephemeral.random_password.continuation_token_key.result
  value_wo_version = var.secret_versions.continuation_token_key

  depends_on = [module.audit_vault]
}

resource "azurerm_key_vault_secret" "idempotency_hmac_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the credential it holds, it would only make every app start fail.
  name             = local.secret_names.idempotency_hmac_key
  key_vault_id     = module.patient_vault.id
  content_type     = "base64, 32 bytes (HMAC key for Idempotency-Key values)"
  value_wo         = "${ephemeral.random_password.idempotency_hmac_key.result}A="
  value_wo_version = var.secret_versions.idempotency_hmac_key

  depends_on = [module.patient_vault]
}

# The keys a rotation of the two keys above still accepts: comma-separated base64, read by
# patient-app as PAYLOAD_ENCRYPTION_PREVIOUS_KEYS and IDEMPOTENCY_HMAC_PREVIOUS_KEYS. Terraform
# creates them blank (one space, which the app reads as no keys: an empty Key Vault secret is not
# resolved by every Key Vault reference); scripts/rotate-patient-key.sh writes every later version.
resource "azurerm_key_vault_secret" "previous_keys" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (docs/key-rotation.md), not an expiry: Key Vault refusing an expired secret would only make every app start fail.
  for_each = {
    payload_encryption_previous_keys = "base64 32-byte keys, comma-separated (payload keys still accepted for opening)"
    idempotency_hmac_previous_keys   = "base64 keys, comma-separated (idempotency HMAC keys still accepted for lookups and paging tokens)"
  }

  name             = local.secret_names[each.key]
  key_vault_id     = module.patient_vault.id
  content_type     = each.value
  value_wo         = " "
  value_wo_version = var.secret_versions.previous_keys

  depends_on = [module.patient_vault]
}

# The value of a function key as its caller (APIM, patient-app) sends it. The key-name tag names
# the host key that holds it; scripts/rotate-function-key.sh alternates between <secret>-1 and
# <secret>-2 so that the old and the new key are both valid while callers switch.
resource "azurerm_key_vault_secret" "function_key" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (env/README.md), not an expiry: Key Vault refusing an expired secret would not revoke the function key (it stays valid at the host), it would only make every call fail.
  for_each = local.function_keys

  name             = each.key
  key_vault_id     = module.patient_vault.id
  content_type     = "Azure Functions host key of ${each.value.app}"
  value_wo         = ephemeral.random_password.function_key[each.key].result
  value_wo_version = var.secret_versions.function_keys
  tags = {
    "key-name" = "${each.key}-1"
    "app"      = each.value.app
  }

  depends_on = [module.patient_vault]

  lifecycle {
    # The rotation script owns the key-name tag after the first apply.
    ignore_changes = [tags]
  }
}

resource "azurerm_key_vault_secret" "mongodb" {
  #checkov:skip=CKV_AZURE_41:Rotation is a procedure (switch to the other account key, env/README.md), not an expiry: an expired secret would not revoke the account key, it would only stop the app.
  for_each = local.mongodb_connection_strings

  name             = local.secret_names.mongodb_connection_string
  key_vault_id     = local.vaults[each.key].id
  content_type     = "MongoDB connection string (${var.mongodb_active_key} account key)"
  value_wo         = each.value
  value_wo_version = var.secret_versions.mongodb

  depends_on = [module.patient_vault, module.audit_vault]
}

# ---- Who may read what ---------------------------------------------------------------------------

resource "azurerm_role_assignment" "app_reads_own_vault" {
  for_each = {
    patient = { vault = module.patient_vault.id, principal = module.patient_app.principal_id }
    audit   = { vault = module.audit_vault.id, principal = module.audit_app.principal_id }
  }

  scope                = each.value.vault
  role_definition_name = "Key Vault Secrets User"
  principal_id         = each.value.principal
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "apim_reads_function_keys" {
  for_each = toset(["patient-api-key", "support-api-key"])

  scope                = azurerm_key_vault_secret.function_key[each.key].resource_versionless_id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_api_management.main.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}
