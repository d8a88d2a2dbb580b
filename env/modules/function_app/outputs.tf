output "id" {
  value = azurerm_linux_function_app.this.id
}

output "name" {
  value = azurerm_linux_function_app.this.name
}

output "default_hostname" {
  value = azurerm_linux_function_app.this.default_hostname
}

output "principal_id" {
  description = "Object id of the app's system-assigned identity."
  value       = azurerm_linux_function_app.this.identity[0].principal_id
}

output "storage_account_name" {
  value = azurerm_storage_account.this.name
}

output "package_url" {
  description = "Blob the app runs from; scripts/deploy-code.sh uploads the zip here."
  value       = local.package_url
}
