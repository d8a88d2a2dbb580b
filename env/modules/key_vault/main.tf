# A Key Vault for one app: RBAC authorization, purge protection, reachable through a private
# endpoint (and trusted Azure services), diagnostics to Log Analytics. The app's identity reads
# every secret of its own vault and nothing else: with KEY_VAULT_URL set, the app looks each
# setting up by name (platform/src/secrets) and needs "not found" rather than "forbidden" for
# settings that are not secrets, so the boundary between the apps is the vault, not the secret.
variable "name" {
  description = "Globally unique vault name (3-24 characters)."
  type        = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "tenant_id" {
  type = string
}

variable "operator_ip_ranges" {
  description = "Public CIDR ranges allowed through the firewall; empty disables public network access."
  type        = list(string)
  default     = []
}

variable "private_endpoint_subnet_id" {
  type = string
}

variable "private_dns_zone_id" {
  description = "privatelink.vaultcore.azure.net"
  type        = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "deployer_principal_id" {
  description = "Writes the secrets (Terraform, the rotation script)."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  operator_access = length(var.operator_ip_ranges) > 0
}

resource "azurerm_key_vault" "this" {
  #checkov:skip=CKV_AZURE_189:Public network access is off unless operator_ip_ranges is set (local.operator_access), and then only those ranges pass the Deny-by-default firewall; checkov cannot evaluate the expression.
  name                          = var.name
  location                      = var.location
  resource_group_name           = var.resource_group_name
  tenant_id                     = var.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = local.operator_access
  tags                          = var.tags

  network_acls {
    default_action = "Deny"
    bypass         = "AzureServices"
    ip_rules       = var.operator_ip_ranges
  }
}

module "private_endpoint" {
  source = "../private_endpoint"

  name                = "pe-${var.name}"
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.private_endpoint_subnet_id
  resource_id         = azurerm_key_vault.this.id
  subresource         = "vault"
  private_dns_zone_id = var.private_dns_zone_id
  tags                = var.tags
}

module "diagnostics" {
  source = "../diagnostics"

  target_resource_id         = azurerm_key_vault.this.id
  log_analytics_workspace_id = var.log_analytics_workspace_id
}

# The deployer writes secrets; it cannot change role assignments or the vault through this role.
resource "azurerm_role_assignment" "deployer" {
  scope                = azurerm_key_vault.this.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = var.deployer_principal_id
}

output "id" {
  value = azurerm_key_vault.this.id
}

output "name" {
  value = azurerm_key_vault.this.name
}

output "vault_uri" {
  value = azurerm_key_vault.this.vault_uri
}
