# Sends every log category and every metric a resource offers to the Log Analytics workspace.
# The categories are read from Azure Monitor, so a service that adds a category is covered
# without a change here.
variable "name" {
  description = "Name of the diagnostic setting."
  type        = string
  default     = "to-log-analytics"
}

variable "target_resource_id" {
  description = "The resource whose logs and metrics are collected."
  type        = string
}

variable "log_analytics_workspace_id" {
  type = string
}

data "azurerm_monitor_diagnostic_categories" "this" {
  resource_id = var.target_resource_id
}

resource "azurerm_monitor_diagnostic_setting" "this" {
  name                       = var.name
  target_resource_id         = var.target_resource_id
  log_analytics_workspace_id = var.log_analytics_workspace_id

  dynamic "enabled_log" {
    for_each = toset(data.azurerm_monitor_diagnostic_categories.this.log_category_types)
    content {
      category = enabled_log.value
    }
  }

  dynamic "enabled_metric" {
    for_each = toset(data.azurerm_monitor_diagnostic_categories.this.metrics)
    content {
      category = enabled_metric.value
    }
  }
}

output "id" {
  value = azurerm_monitor_diagnostic_setting.this.id
}
