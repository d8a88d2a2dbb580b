variable "name" {
  description = "Short name used in every resource name (lowercase letters and digits, 3-12 characters)."
  type        = string
  default     = "patrec"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,11}$", var.name))
    error_message = "name must be 3-12 lowercase letters or digits, starting with a letter."
  }
}

variable "environment" {
  description = "Environment label (dev, test, prod); part of resource names and tags."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z0-9]{1,6}$", var.environment))
    error_message = "environment must be 1-6 lowercase letters or digits."
  }
}

variable "location" {
  description = "Azure region for every resource."
  type        = string
  default     = "australiaeast"
}

variable "tags" {
  description = "Extra tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "address_space" {
  description = "VNet address space; the subnets are carved from it (see locals in network.tf)."
  type        = string
  default     = "10.20.0.0/16"
}

variable "operator_ip_ranges" {
  description = <<-EOT
    Public CIDR ranges of the machine that runs terraform apply and the code deployment, allowed
    through the Key Vault and storage firewalls (their data planes are otherwise reachable only
    through private endpoints). Leave empty when applying from inside the VNet (a self-hosted
    runner); then Key Vault and the storage accounts have public network access disabled.
  EOT
  type        = list(string)
  default     = []
}

variable "function_plan_sku" {
  description = "Elastic Premium SKU of each function app's plan (EP1, EP2, EP3)."
  type        = string
  default     = "EP1"

  validation {
    condition     = contains(["EP1", "EP2", "EP3"], var.function_plan_sku)
    error_message = "function_plan_sku must be EP1, EP2 or EP3: only Elastic Premium has VNet integration with elastic scale."
  }
}

variable "function_max_instances" {
  description = "Maximum elastic instances per plan; each instance takes one address in its app subnet (/26 = 59 usable)."
  type        = number
  default     = 20
}

variable "apim_sku" {
  description = "API Management SKU. External VNet mode needs Developer (no SLA) or Premium."
  type        = string
  default     = "Developer_1"

  validation {
    condition     = can(regex("^(Developer_1|Premium_[1-9][0-9]?)$", var.apim_sku))
    error_message = "apim_sku must be Developer_1 or Premium_N: the other tiers cannot be injected into a VNet in External mode."
  }
}

variable "publisher_name" {
  description = "API Management publisher (organisation) name."
  type        = string
  default     = "Patient Records"
}

variable "publisher_email" {
  description = "API Management publisher e-mail; also receives the alert e-mails unless alert_emails is set."
  type        = string
}

variable "alert_emails" {
  description = "Addresses that receive alerts (failed and compensated writes, 5xx). Defaults to publisher_email."
  type        = list(string)
  default     = []
}

variable "consumer_rate_limit_per_minute" {
  description = "Calls per minute allowed for each API consumer subscription."
  type        = number
  default     = 600
}

variable "consumer_quota_per_day" {
  description = "Calls per day allowed for each API consumer subscription."
  type        = number
  default     = 100000
}

variable "max_request_body_bytes" {
  description = "Largest request body APIM forwards (larger requests get 413 at the gateway)."
  type        = number
  default     = 262144
}

variable "key_cache_seconds" {
  description = <<-EOT
    How long APIM caches the patient-app function key it reads from Key Vault. Key rotation keeps
    the old key valid for longer than this (scripts/rotate-function-key.sh waits it out).
  EOT
  type        = number
  default     = 300
}

variable "audit_timeout_ms" {
  description = "patient-app's timeout for one call to audit-app (AUDIT_TIMEOUT_MS)."
  type        = number
  default     = 3000
}

variable "write_wait_timeout_ms" {
  description = "How long a write's HTTP starter waits for its orchestration before answering 202 (WRITE_WAIT_TIMEOUT_MS)."
  type        = number
  default     = 10000
}

variable "patient_database_name" {
  description = "MongoDB database of patient-app (PATIENT_DATABASE_NAME)."
  type        = string
  default     = "patients"
}

variable "audit_database_name" {
  description = "MongoDB database of audit-app (AUDIT_DATABASE_NAME)."
  type        = string
  default     = "audit"
}

variable "cosmos_max_throughput" {
  description = "Autoscale maximum RU/s of each database (shared by its collections); it scales down to 10% when idle."
  type        = number
  default     = 1000
}

variable "secret_versions" {
  description = <<-EOT
    Write-only version of each generated secret. Terraform writes a generated value only when the
    secret is created or its number here changes; normal rotation uses scripts/ instead, and
    Terraform never reads or stores the values.
  EOT
  type = object({
    payload_encryption_key = optional(number, 1)
    idempotency_hmac_key   = optional(number, 1)
    function_keys          = optional(number, 1)
    mongodb                = optional(number, 1)
    continuation_token_key = optional(number, 1)
    # Bumping it blanks both previous-keys secrets: only after a rotation's last phase.
    previous_keys = optional(number, 1)
  })
  default = {}
}

variable "log_retention_days" {
  description = "Log Analytics retention in days."
  type        = number
  default     = 90
}

variable "mongodb_active_key" {
  description = <<-EOT
    Which Cosmos DB account key the connection strings in Key Vault use (primary or secondary).
    Rotating a Cosmos DB key: switch to the other key (and bump secret_versions.mongodb), apply,
    wait for the apps to pick it up, then regenerate the key no longer in use (env/README.md).
  EOT
  type        = string
  default     = "primary"

  validation {
    condition     = contains(["primary", "secondary"], var.mongodb_active_key)
    error_message = "mongodb_active_key must be primary or secondary."
  }
}

variable "key_vault_cache_seconds" {
  description = "How long the apps cache a value read from Key Vault (KEY_VAULT_CACHE_SECONDS); key rotation waits longer than this."
  type        = number
  default     = 300
}
