variable "name" {
  description = "Globally unique function app name."
  type        = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

variable "plan_sku" {
  description = "Elastic Premium SKU (EP1, EP2, EP3)."
  type        = string
}

variable "max_instances" {
  description = "Maximum elastic instances of the plan and the app."
  type        = number
}

variable "storage_account_name" {
  description = "Globally unique name of the app's own storage account (task hub, keys, deployment package)."
  type        = string
}

variable "integration_subnet_id" {
  description = "Subnet delegated to Microsoft.Web/serverFarms for regional VNet integration; all outbound traffic goes through it."
  type        = string
}

variable "allowed_caller_subnet_id" {
  description = "The only subnet allowed to call the app (through the Microsoft.Web service endpoint); everything else is denied."
  type        = string
}

variable "allowed_caller_description" {
  description = "Who the allowed subnet is, for the access restriction rule's description."
  type        = string
}

variable "operator_ip_ranges" {
  description = "Public CIDR ranges allowed to the SCM (Kudu) site and the storage account's data plane; empty denies both."
  type        = list(string)
  default     = []
}

variable "private_endpoint_subnet_id" {
  type = string
}

variable "private_dns_zone_ids" {
  description = "Private DNS zone ids for blob, queue and table."
  type = object({
    blob  = string
    queue = string
    table = string
  })
}

variable "app_settings" {
  description = "The app's own settings; secrets as Key Vault references, never values."
  type        = map(string)
}

variable "application_insights_connection_string" {
  description = "Sets APPLICATIONINSIGHTS_CONNECTION_STRING (an ingestion address and resource id, not a credential)."
  type        = string
}

variable "log_analytics_workspace_id" {
  type = string
}

variable "deployer_principal_id" {
  description = "Object id of the principal that runs Terraform and uploads the code package."
  type        = string
}
