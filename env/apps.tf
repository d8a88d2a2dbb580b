locals {
  # A versionless Key Vault reference: the app resolves the secret's current version, so a
  # rotated value is picked up without changing the app settings.
  kv_reference = {
    for key, secret in {
      patient_mongodb        = azurerm_key_vault_secret.mongodb["patient"]
      audit_mongodb          = azurerm_key_vault_secret.mongodb["audit"]
      audit_api_key          = azurerm_key_vault_secret.function_key["audit-api-key"]
      support_api_key        = azurerm_key_vault_secret.function_key["support-api-key"]
      payload_encryption_key = azurerm_key_vault_secret.payload_encryption_key
      idempotency_hmac_key   = azurerm_key_vault_secret.idempotency_hmac_key
      # Blank outside a key rotation (docs/key-rotation.md).
      payload_encryption_previous_keys = azurerm_key_vault_secret.previous_keys["payload_encryption_previous_keys"]
      idempotency_hmac_previous_keys   = azurerm_key_vault_secret.previous_keys["idempotency_hmac_previous_keys"]
      continuation_token_key           = azurerm_key_vault_secret.audit_continuation_token_key
    } : key => "@Microsoft.KeyVault(SecretUri=${secret.versionless_id})"
  }

  # Exactly the settings each app reads at start (patient-app/src/settings.ts and
  # audit-app/src/settings.ts export them as appSettingNames; env/test checks both lists).
  # APPLICATIONINSIGHTS_CONNECTION_STRING comes from site_config in the module (the Functions
  # host reads it whether or not the app's own list names it).
  patient_app_settings = {
    MONGODB_CONNECTION_STRING = local.kv_reference["patient_mongodb"]
    PATIENT_DATABASE_NAME     = module.patient_data.database_name
    AUDIT_API_URL             = "https://${module.audit_app.default_hostname}"
    AUDIT_API_KEY             = local.kv_reference["audit_api_key"]
    AUDIT_TIMEOUT_MS          = tostring(var.audit_timeout_ms)
    PAYLOAD_ENCRYPTION_KEY    = local.kv_reference["payload_encryption_key"]
    IDEMPOTENCY_HMAC_KEY      = local.kv_reference["idempotency_hmac_key"]
    # The keys a rotation still accepts; blank otherwise (docs/key-rotation.md).
    PAYLOAD_ENCRYPTION_PREVIOUS_KEYS = local.kv_reference["payload_encryption_previous_keys"]
    IDEMPOTENCY_HMAC_PREVIOUS_KEYS   = local.kv_reference["idempotency_hmac_previous_keys"]
    WRITE_WAIT_TIMEOUT_MS            = tostring(var.write_wait_timeout_ms)
    KEY_VAULT_URL                    = module.patient_vault.vault_uri
    # The support functions accept only this key (docs/decisions.md, "The support API's own key").
    SUPPORT_API_KEY = local.kv_reference["support_api_key"]
  }

  audit_app_settings = {
    MONGODB_CONNECTION_STRING = local.kv_reference["audit_mongodb"]
    AUDIT_DATABASE_NAME       = module.audit_data.database_name
    CONTINUATION_TOKEN_KEY    = local.kv_reference["continuation_token_key"]
    KEY_VAULT_URL             = module.audit_vault.vault_uri
    KEY_VAULT_CACHE_SECONDS   = tostring(var.key_vault_cache_seconds)
  }
}

module "audit_app" {
  source = "./modules/function_app"

  name                                   = "func-${local.unique}-audit"
  location                               = azurerm_resource_group.main.location
  resource_group_name                    = azurerm_resource_group.main.name
  tags                                   = local.tags
  plan_sku                               = var.function_plan_sku
  max_instances                          = var.function_max_instances
  storage_account_name                   = "st${local.compact}audit"
  integration_subnet_id                  = azurerm_subnet.audit_app.id
  allowed_caller_subnet_id               = azurerm_subnet.patient_app.id
  allowed_caller_description             = "patient-app's integration subnet may call audit-app."
  operator_ip_ranges                     = var.operator_ip_ranges
  private_endpoint_subnet_id             = azurerm_subnet.private_endpoints.id
  private_dns_zone_ids                   = local.storage_dns_zone_ids
  app_settings                           = local.audit_app_settings
  application_insights_connection_string = azurerm_application_insights.main.connection_string
  log_analytics_workspace_id             = azurerm_log_analytics_workspace.main.id
  deployer_principal_id                  = data.azurerm_client_config.current.object_id
}

module "patient_app" {
  source = "./modules/function_app"

  name                                   = "func-${local.unique}-patient"
  location                               = azurerm_resource_group.main.location
  resource_group_name                    = azurerm_resource_group.main.name
  tags                                   = local.tags
  plan_sku                               = var.function_plan_sku
  max_instances                          = var.function_max_instances
  storage_account_name                   = "st${local.compact}pat"
  integration_subnet_id                  = azurerm_subnet.patient_app.id
  allowed_caller_subnet_id               = azurerm_subnet.apim.id
  allowed_caller_description             = "API Management's subnet may call patient-app."
  operator_ip_ranges                     = var.operator_ip_ranges
  private_endpoint_subnet_id             = azurerm_subnet.private_endpoints.id
  private_dns_zone_ids                   = local.storage_dns_zone_ids
  app_settings                           = local.patient_app_settings
  application_insights_connection_string = azurerm_application_insights.main.connection_string
  log_analytics_workspace_id             = azurerm_log_analytics_workspace.main.id
  deployer_principal_id                  = data.azurerm_client_config.current.object_id
}

locals {
  storage_dns_zone_ids = {
    blob  = azurerm_private_dns_zone.zones["blob"].id
    queue = azurerm_private_dns_zone.zones["queue"].id
    table = azurerm_private_dns_zone.zones["table"].id
  }
}
