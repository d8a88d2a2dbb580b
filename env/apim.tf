# API Management in External VNet mode: public gateway, outbound into the VNet, so its calls to
# patient-app arrive from the APIM subnet (the only source patient-app admits) and it reads Key
# Vault through the private endpoint.

resource "azurerm_public_ip" "apim" {
  name                = "pip-${local.prefix}-apim"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  allocation_method   = "Static"
  sku                 = "Standard"
  domain_name_label   = "apim-${local.unique}"
  tags                = local.tags
}

resource "azurerm_api_management" "main" {
  #checkov:skip=CKV_AZURE_174:The gateway is the public entry point for API consumers (External mode by design); every API needs a subscription key, and the backends accept only the APIM subnet.
  name                 = "apim-${local.unique}"
  location             = azurerm_resource_group.main.location
  resource_group_name  = azurerm_resource_group.main.name
  publisher_name       = var.publisher_name
  publisher_email      = var.publisher_email
  sku_name             = var.apim_sku
  virtual_network_type = "External"
  public_ip_address_id = azurerm_public_ip.apim.id
  min_api_version      = "2021-08-01"
  tags                 = local.tags

  virtual_network_configuration {
    subnet_id = azurerm_subnet.apim.id
  }

  identity {
    type = "SystemAssigned"
  }

  protocols {
    http2_enabled = true
  }

  security {
    backend_ssl30_enabled      = false
    backend_tls10_enabled      = false
    backend_tls11_enabled      = false
    frontend_ssl30_enabled     = false
    frontend_tls10_enabled     = false
    frontend_tls11_enabled     = false
    triple_des_ciphers_enabled = false
  }

  depends_on = [azurerm_subnet_network_security_group_association.apim]
}

module "apim_diagnostics" {
  source = "./modules/diagnostics"

  target_resource_id         = azurerm_api_management.main.id
  log_analytics_workspace_id = azurerm_log_analytics_workspace.main.id
}

# ---- Telemetry: W3C trace context into the shared Application Insights, no bodies logged -------

resource "azurerm_api_management_logger" "app_insights" {
  name                = "application-insights"
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  resource_id         = azurerm_application_insights.main.id

  application_insights {
    connection_string = azurerm_application_insights.main.connection_string
  }
}

resource "azurerm_api_management_diagnostic" "app_insights" {
  identifier                = "applicationinsights"
  api_management_name       = azurerm_api_management.main.name
  resource_group_name       = azurerm_resource_group.main.name
  api_management_logger_id  = azurerm_api_management_logger.app_insights.id
  sampling_percentage       = 100
  always_log_errors         = true
  log_client_ip             = false
  verbosity                 = "information"
  http_correlation_protocol = "W3C"

  # Patient data travels in bodies and some headers: the gateway logs neither.
  frontend_request {
    body_bytes = 0
  }
  frontend_response {
    body_bytes = 0
  }
  backend_request {
    body_bytes = 0
  }
  backend_response {
    body_bytes = 0
  }
}

# ---- Named values the policy files use -----------------------------------------------------------

locals {
  apim_named_values = {
    "patient-api-key-secret-url" = azurerm_key_vault_secret.function_key["patient-api-key"].versionless_id
    "support-api-key-secret-url" = azurerm_key_vault_secret.function_key["support-api-key"].versionless_id
    "key-cache-seconds"          = tostring(var.key_cache_seconds)
    "max-request-body-bytes"     = tostring(var.max_request_body_bytes)
    "consumer-rate-limit-calls"  = tostring(var.consumer_rate_limit_per_minute)
    "consumer-quota-calls"       = tostring(var.consumer_quota_per_day)
    "support-rate-limit-calls"   = "120"
  }
}

resource "azurerm_api_management_named_value" "settings" {
  for_each = local.apim_named_values

  name                = each.key
  display_name        = each.key
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  value               = each.value
  secret              = false
}

resource "azurerm_api_management_policy_fragment" "fragments" {
  for_each = toset(["strip-internal-request-headers", "strip-internal-response-headers"])

  name              = each.key
  api_management_id = azurerm_api_management.main.id
  format            = "rawxml"
  value             = file("${path.module}/policies/${each.key}.xml")
}

# ---- APIs ------------------------------------------------------------------------------------------

# The PatientTests API, imported from the OpenAPI document patient-app publishes. Its paths are
# relative to the app's route prefix, so gateway paths equal the app's: /api/patient/...
resource "azurerm_api_management_api" "patient" {
  name                  = "patient-api"
  api_management_name   = azurerm_api_management.main.name
  resource_group_name   = azurerm_resource_group.main.name
  revision              = "1"
  display_name          = "Patient records"
  path                  = "api"
  protocols             = ["https"]
  service_url           = "https://${module.patient_app.default_hostname}/api"
  subscription_required = true

  subscription_key_parameter_names {
    header = "Ocp-Apim-Subscription-Key"
    query  = "subscription-key"
  }

  import {
    content_format = "openapi"
    content_value  = file("${path.module}/../patient-app/openapi.yaml")
  }
}

# The support API (patient-app's /api/support routes), published only in the support product and
# imported from patient-app/support-openapi.yaml, whose paths are relative to /api/support: gateway
# /support/writes/{instanceId} is the app's /api/support/writes/{instanceId}. Only the documented
# operations pass the gateway.
resource "azurerm_api_management_api" "support" {
  name                  = "support-api"
  api_management_name   = azurerm_api_management.main.name
  resource_group_name   = azurerm_resource_group.main.name
  revision              = "1"
  display_name          = "Patient records support"
  path                  = "support"
  protocols             = ["https"]
  service_url           = "https://${module.patient_app.default_hostname}/api/support"
  subscription_required = true

  # APIM's default names, pinned as for the patient API, so the import cannot change them.
  subscription_key_parameter_names {
    header = "Ocp-Apim-Subscription-Key"
    query  = "subscription-key"
  }

  import {
    content_format = "openapi"
    content_value  = file("${path.module}/../patient-app/support-openapi.yaml")
  }
}

resource "azurerm_api_management_api_policy" "patient" {
  api_name            = azurerm_api_management_api.patient.name
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  xml_content         = file("${path.module}/policies/patient-api.xml")

  depends_on = [azurerm_api_management_named_value.settings, azurerm_api_management_policy_fragment.fragments]
}

resource "azurerm_api_management_api_policy" "support" {
  api_name            = azurerm_api_management_api.support.name
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  xml_content         = file("${path.module}/policies/support-api.xml")

  depends_on = [azurerm_api_management_named_value.settings, azurerm_api_management_policy_fragment.fragments]
}

# ---- Products: subscription keys per consumer, and a separate one for support staff --------------

resource "azurerm_api_management_product" "consumers" {
  product_id            = "patient-api-consumers"
  api_management_name   = azurerm_api_management.main.name
  resource_group_name   = azurerm_resource_group.main.name
  display_name          = "Patient API consumers"
  description           = "Applications that read and write patient records. One subscription per application."
  subscription_required = true
  approval_required     = true
  published             = true
}

resource "azurerm_api_management_product" "support" {
  product_id            = "patient-records-support"
  api_management_name   = azurerm_api_management.main.name
  resource_group_name   = azurerm_resource_group.main.name
  display_name          = "Patient records support"
  description           = "Support staff: inspect, restart, terminate and purge writes. Every action is audited."
  subscription_required = true
  approval_required     = true
  subscriptions_limit   = 20
  published             = true
}

resource "azurerm_api_management_product_api" "consumers" {
  product_id          = azurerm_api_management_product.consumers.product_id
  api_name            = azurerm_api_management_api.patient.name
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
}

resource "azurerm_api_management_product_api" "support" {
  product_id          = azurerm_api_management_product.support.product_id
  api_name            = azurerm_api_management_api.support.name
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
}

resource "azurerm_api_management_product_policy" "consumers" {
  product_id          = azurerm_api_management_product.consumers.product_id
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  xml_content         = file("${path.module}/policies/consumer-product.xml")

  depends_on = [azurerm_api_management_named_value.settings]
}

resource "azurerm_api_management_product_policy" "support" {
  product_id          = azurerm_api_management_product.support.product_id
  api_management_name = azurerm_api_management.main.name
  resource_group_name = azurerm_resource_group.main.name
  xml_content         = file("${path.module}/policies/support-product.xml")

  depends_on = [azurerm_api_management_named_value.settings]
}
