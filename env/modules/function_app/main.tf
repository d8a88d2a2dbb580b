# One function app with everything that is its own: an Elastic Premium plan (a plan has exactly
# one integration subnet, and the two apps need different subnets), a storage account for its
# task hub, host keys and code package reachable only through private endpoints, the app with
# regional VNet integration and access restrictions, and diagnostics for each part.

locals {
  package_container = "deployments"
  package_url       = "https://${azurerm_storage_account.this.name}.blob.core.windows.net/${local.package_container}/${var.name}.zip"
  operator_access   = length(var.operator_ip_ranges) > 0
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_225:Zone redundancy triples the always-on instances (3 x EP1 per app); it is a production sizing choice documented in env/README.md, not a default for every environment.
  #checkov:skip=CKV_AZURE_212:Same reason: one always-ready instance per app by default (elastic_instance_minimum); production raises it with zone redundancy.
  name                         = "asp-${var.name}"
  location                     = var.location
  resource_group_name          = var.resource_group_name
  os_type                      = "Linux"
  sku_name                     = var.plan_sku
  maximum_elastic_worker_count = var.max_instances
  tags                         = var.tags
}

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV_AZURE_206:ZRS survives a zone failure; the account holds the task hub (work in flight), host keys and the code package, all re-creatable, and geo-replication would copy them to a region the VNet does not reach.
  #checkov:skip=CKV_AZURE_33:Classic Storage Analytics logging needs shared-key access, which is disabled; queue logs go to Log Analytics through the queueServices diagnostic setting below.
  #checkov:skip=CKV2_AZURE_1:No patient data is stored here (task hub payloads are references or encrypted with PAYLOAD_ENCRYPTION_KEY); Microsoft-managed encryption at rest applies. Customer-managed keys are listed as a hardening option in env/README.md.
  #checkov:skip=CKV2_AZURE_33:The account has blob, queue and table private endpoints (module.storage_private_endpoint, for_each); checkov does not follow the for_each module edge. env/test asserts the endpoints.
  name                     = var.storage_account_name
  location                 = var.location
  resource_group_name      = var.resource_group_name
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = "ZRS"
  tags                     = var.tags

  # Entra ID only: no account keys, no SAS, no anonymous blobs, TLS 1.2, HTTPS only.
  shared_access_key_enabled       = false
  default_to_oauth_authentication = true
  allow_nested_items_to_be_public = false
  https_traffic_only_enabled      = true
  min_tls_version                 = "TLS1_2"
  local_user_enabled              = false
  sftp_enabled                    = false

  # Private endpoints only, unless an operator range is given for the deployment upload.
  public_network_access_enabled = local.operator_access

  network_rules {
    default_action = "Deny"
    bypass         = ["AzureServices", "Logging", "Metrics"]
    ip_rules       = var.operator_ip_ranges
  }

  blob_properties {
    delete_retention_policy {
      days = 7
    }
    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "deployments" {
  #checkov:skip=CKV2_AZURE_21:Classic Storage Analytics logging needs shared-key access, which is disabled; blob reads are logged through the blobServices diagnostic setting.
  name                  = local.package_container
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}

module "storage_private_endpoint" {
  source   = "../private_endpoint"
  for_each = var.private_dns_zone_ids

  name                = "pe-${azurerm_storage_account.this.name}-${each.key}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  resource_id         = azurerm_storage_account.this.id
  subresource         = each.key
  private_dns_zone_id = each.value
  tags                = var.tags
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:The front end must stay enabled for the subnet access restriction to admit the one caller subnet (Microsoft.Web service endpoint); the default action is Deny, so no other source reaches the app or its SCM site.
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  service_plan_id     = azurerm_service_plan.this.id
  tags                = var.tags

  functions_extension_version = "~4"
  https_only                  = true
  # The public front end stays on so that the subnet access restriction below can admit the one
  # caller subnet (through its Microsoft.Web service endpoint); every other source is denied.
  public_network_access_enabled                  = true
  ftp_publish_basic_authentication_enabled       = false
  webdeploy_publish_basic_authentication_enabled = false
  builtin_logging_enabled                        = false
  client_certificate_mode                        = "Optional"

  # Identity-based AzureWebJobsStorage (AzureWebJobsStorage__accountName). No Azure Files
  # content share: the code runs from a package blob read with the app's identity.
  storage_account_name          = azurerm_storage_account.this.name
  storage_uses_managed_identity = true
  content_share_force_disabled  = true

  # Regional VNet integration; vnet_route_all_enabled below sends all outbound traffic into it.
  virtual_network_subnet_id = var.integration_subnet_id

  identity {
    type = "SystemAssigned"
  }

  site_config {
    application_stack {
      node_version = "22"
    }

    vnet_route_all_enabled                 = true
    minimum_tls_version                    = "1.2"
    scm_minimum_tls_version                = "1.2"
    ftps_state                             = "Disabled"
    http2_enabled                          = true
    remote_debugging_enabled               = false
    application_insights_connection_string = var.application_insights_connection_string
    elastic_instance_minimum               = 1
    pre_warmed_instance_count              = 1
    app_scale_limit                        = var.max_instances
    # The scale controller cannot reach a private storage account; the runtime reports its own
    # scale needs instead.
    runtime_scale_monitoring_enabled  = true
    health_check_path                 = "/api/health"
    health_check_eviction_time_in_min = 5

    ip_restriction_default_action = "Deny"
    ip_restriction {
      name                      = "allow-caller-subnet"
      description               = "Only ${var.allowed_caller_description}"
      priority                  = 100
      action                    = "Allow"
      virtual_network_subnet_id = var.allowed_caller_subnet_id
    }

    # Kudu is not used to deploy (the package is a blob); it is closed unless operator ranges
    # are given for diagnostics.
    scm_use_main_ip_restriction       = false
    scm_ip_restriction_default_action = "Deny"
    dynamic "scm_ip_restriction" {
      for_each = var.operator_ip_ranges
      content {
        name       = "allow-operator-${scm_ip_restriction.key}"
        priority   = 100 + scm_ip_restriction.key
        action     = "Allow"
        ip_address = scm_ip_restriction.value
      }
    }
  }

  app_settings = merge(var.app_settings, {
    WEBSITE_RUN_FROM_PACKAGE                     = local.package_url
    WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID = "SystemAssigned"
  })

  depends_on = [module.storage_private_endpoint]
}

# The app's identity on its own storage account only: what the Functions host (keys, leases)
# and the Durable Functions task hub (queues, tables, blobs) need.
resource "azurerm_role_assignment" "app_storage" {
  for_each = toset([
    "Storage Blob Data Owner",
    "Storage Queue Data Contributor",
    "Storage Table Data Contributor",
  ])

  scope                = azurerm_storage_account.this.id
  role_definition_name = each.value
  principal_id         = azurerm_linux_function_app.this.identity[0].principal_id
  principal_type       = "ServicePrincipal"
}

# The deployer uploads the code package into the deployments container, nothing else.
resource "azurerm_role_assignment" "deployer_packages" {
  scope                = azurerm_storage_container.deployments.id
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = var.deployer_principal_id
}

module "diagnostics" {
  source = "../diagnostics"
  for_each = {
    app     = azurerm_linux_function_app.this.id
    plan    = azurerm_service_plan.this.id
    storage = azurerm_storage_account.this.id
    blob    = "${azurerm_storage_account.this.id}/blobServices/default"
    queue   = "${azurerm_storage_account.this.id}/queueServices/default"
    table   = "${azurerm_storage_account.this.id}/tableServices/default"
  }

  target_resource_id         = each.value
  log_analytics_workspace_id = var.log_analytics_workspace_id
}
