# A private endpoint for one sub-resource of a service, registered in its private DNS zone.
variable "name" {
  description = "Name of the private endpoint."
  type        = string
}

variable "location" {
  type = string
}

variable "resource_group_name" {
  type = string
}

variable "subnet_id" {
  description = "Subnet the endpoint's network interface is placed in."
  type        = string
}

variable "resource_id" {
  description = "The service the endpoint connects to."
  type        = string
}

variable "subresource" {
  description = "The sub-resource (vault, MongoDB, blob, queue, table)."
  type        = string
}

variable "private_dns_zone_id" {
  description = "The private DNS zone the endpoint's address is registered in."
  type        = string
}

variable "tags" {
  type    = map(string)
  default = {}
}

resource "azurerm_private_endpoint" "this" {
  name                = var.name
  location            = var.location
  resource_group_name = var.resource_group_name
  subnet_id           = var.subnet_id
  tags                = var.tags

  private_service_connection {
    name                           = "${var.name}-connection"
    private_connection_resource_id = var.resource_id
    subresource_names              = [var.subresource]
    is_manual_connection           = false
  }

  private_dns_zone_group {
    name                 = "default"
    private_dns_zone_ids = [var.private_dns_zone_id]
  }
}

output "id" {
  value = azurerm_private_endpoint.this.id
}
