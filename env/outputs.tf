# What a deployer needs, nothing secret: names, hosts and URLs. Subscription keys are read in
# the portal or with az rest by whoever may see them; no key or connection string is an output.

output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "gateway_url" {
  description = "Public base URL of the API: <gateway_url>/api/patient, <gateway_url>/support/..."
  value       = azurerm_api_management.main.gateway_url
}

output "api_management_name" {
  value = azurerm_api_management.main.name
}

output "patient_app_name" {
  value = module.patient_app.name
}

output "audit_app_name" {
  value = module.audit_app.name
}

output "patient_app_package_url" {
  description = "Blob patient-app runs from; scripts/deploy-code.sh uploads here."
  value       = module.patient_app.package_url
}

output "audit_app_package_url" {
  description = "Blob audit-app runs from; scripts/deploy-code.sh uploads here."
  value       = module.audit_app.package_url
}

output "patient_key_vault_name" {
  description = "patient-app's vault: its settings' secrets and the function keys APIM and patient-app send."
  value       = module.patient_vault.name
}

output "audit_key_vault_name" {
  description = "audit-app's vault."
  value       = module.audit_vault.name
}

output "key_vault_secret_names" {
  description = "Which Key Vault secret holds which value (names only)."
  value       = local.secret_names
}

output "application_insights_name" {
  value = azurerm_application_insights.main.name
}

output "nat_egress_ip" {
  description = "The apps' outbound address (NAT gateway)."
  value       = azurerm_public_ip.nat.ip_address
}
