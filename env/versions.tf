terraform {
  # 1.11 is the first release with write-only arguments (value_wo) and ephemeral resources (1.10),
  # which keep the generated keys out of the state file entirely.
  required_version = ">= 1.11.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.42 introduced rbac_authorization_enabled on azurerm_key_vault (the older
      # enable_rbac_authorization is deprecated and goes away in 5.0).
      version = "~> 4.42"
    }
    random = {
      source = "hashicorp/random"
      # ephemeral "random_password" exists from 3.7.
      version = "~> 3.7"
    }
  }

  # State holds resource ids and the Cosmos DB connection strings the provider reads (marked
  # sensitive); keep it in a locked-down remote backend. Configure it at init:
  #   terraform init -backend-config=backend.hcl
  backend "azurerm" {}
}

provider "azurerm" {
  # Storage accounts have shared keys disabled, so the provider talks to blob/queue/table with
  # Entra ID as well.
  storage_use_azuread = true

  features {
    key_vault {
      # Purge protection is on: a deleted vault or secret is recovered, never purged, on destroy.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
      recover_soft_deleted_secrets    = true
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}
