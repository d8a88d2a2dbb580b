resource "azurerm_log_analytics_workspace" "main" {
  name                = "log-${local.prefix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku                 = "PerGB2018"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

# Workspace-based Application Insights shared by both apps and APIM, so one operation id can be
# followed from the gateway through patient-app and the orchestration to audit-app.
resource "azurerm_application_insights" "main" {
  name                = "appi-${local.prefix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  workspace_id        = azurerm_log_analytics_workspace.main.id
  application_type    = "Node.JS"
  retention_in_days   = var.log_retention_days
  tags                = local.tags
}

resource "azurerm_monitor_action_group" "operators" {
  name                = "ag-${local.prefix}-operators"
  resource_group_name = azurerm_resource_group.main.name
  short_name          = "patrecops"
  tags                = local.tags

  dynamic "email_receiver" {
    for_each = local.alert_emails
    content {
      name                    = "operator-${email_receiver.key}"
      email_address           = email_receiver.value
      use_common_alert_schema = true
    }
  }
}

locals {
  # Custom events patient-app sends when a write ends badly (trackWriteOutcome in
  # platform/src/telemetry/spans.ts; docs/telemetry.md): PatientWriteFailed, PatientWriteCompensated.
  write_outcome_alerts = {
    failed = {
      event       = "PatientWriteFailed"
      severity    = 1
      description = "A patient write failed after its retries; support should inspect it (npm run support)."
    }
    compensated = {
      event       = "PatientWriteCompensated"
      severity    = 2
      description = "A patient write was rolled back by compensation; the audit register records what was undone."
    }
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "write_outcome" {
  for_each = local.write_outcome_alerts

  name                 = "alert-${local.prefix}-write-${each.key}"
  location             = azurerm_resource_group.main.location
  resource_group_name  = azurerm_resource_group.main.name
  scopes               = [azurerm_application_insights.main.id]
  description          = each.value.description
  display_name         = "Patient writes ${each.key}"
  severity             = each.value.severity
  evaluation_frequency = "PT5M"
  window_duration      = "PT5M"
  enabled              = true
  tags                 = local.tags

  criteria {
    # A write support terminated (reason "terminated") was ended on purpose by the people this
    # alert would page; its event stays queryable, but it raises no alert.
    query                   = <<-KQL
      customEvents
      | where name == "${each.value.event}"
      | where tostring(customDimensions.reason) != "terminated"
    KQL
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0

    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = [azurerm_monitor_action_group.operators.id]
  }
}

# Any 5xx answered by either app or by the gateway.
resource "azurerm_monitor_metric_alert" "app_5xx" {
  for_each = {
    patient-app = module.patient_app.id
    audit-app   = module.audit_app.id
  }

  name                = "alert-${local.prefix}-${each.key}-5xx"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [each.value]
  description         = "${each.key} answered with a server error."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.Web/sites"
    metric_name      = "Http5xx"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 0
  }

  action {
    action_group_id = azurerm_monitor_action_group.operators.id
  }
}

resource "azurerm_monitor_metric_alert" "apim_5xx" {
  name                = "alert-${local.prefix}-apim-5xx"
  resource_group_name = azurerm_resource_group.main.name
  scopes              = [azurerm_api_management.main.id]
  description         = "The gateway answered API consumers with a server error."
  severity            = 1
  frequency           = "PT1M"
  window_size         = "PT5M"
  tags                = local.tags

  criteria {
    metric_namespace = "Microsoft.ApiManagement/service"
    metric_name      = "Requests"
    aggregation      = "Total"
    operator         = "GreaterThan"
    threshold        = 0

    dimension {
      name     = "GatewayResponseCodeCategory"
      operator = "Include"
      values   = ["5xx"]
    }
  }

  action {
    action_group_id = azurerm_monitor_action_group.operators.id
  }
}
