locals {
  subnet_prefixes = {
    apim              = cidrsubnet(var.address_space, 8, 0)  # 10.20.0.0/24
    patient_app       = cidrsubnet(var.address_space, 10, 4) # 10.20.1.0/26
    audit_app         = cidrsubnet(var.address_space, 10, 5) # 10.20.1.64/26
    private_endpoints = cidrsubnet(var.address_space, 8, 2)  # 10.20.2.0/24
  }

  # One private DNS zone per private endpoint type, linked to the VNet, so that the apps, APIM and
  # Key Vault references resolve the services' names to their private addresses.
  private_dns_zones = {
    vault = "privatelink.vaultcore.azure.net"
    mongo = "privatelink.mongo.cosmos.azure.com"
    blob  = "privatelink.blob.core.windows.net"
    queue = "privatelink.queue.core.windows.net"
    table = "privatelink.table.core.windows.net"
  }
}

resource "azurerm_virtual_network" "main" {
  name                = "vnet-${local.prefix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  address_space       = [var.address_space]
  tags                = local.tags
}

# APIM (External mode) lives here. The Microsoft.Web service endpoint makes APIM's calls to
# patient-app arrive from this subnet, which is what patient-app's access restriction allows.
# Default outbound access stays on here: the gateway's own dependencies (management, storage,
# monitoring) leave through the platform's outbound path, which this subnet must not cut.
resource "azurerm_subnet" "apim" {
  name                 = "snet-apim"
  resource_group_name  = azurerm_resource_group.main.name
  virtual_network_name = azurerm_virtual_network.main.name
  address_prefixes     = [local.subnet_prefixes.apim]
  service_endpoints    = ["Microsoft.Web"]
}

# Regional VNet integration of patient-app. Its calls to audit-app leave through the
# Microsoft.Web service endpoint, so audit-app can allow exactly this subnet.
resource "azurerm_subnet" "patient_app" {
  name                            = "snet-patient-app"
  resource_group_name             = azurerm_resource_group.main.name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [local.subnet_prefixes.patient_app]
  service_endpoints               = ["Microsoft.Web"]
  default_outbound_access_enabled = false

  delegation {
    name = "serverfarms"
    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_subnet" "audit_app" {
  name                            = "snet-audit-app"
  resource_group_name             = azurerm_resource_group.main.name
  virtual_network_name            = azurerm_virtual_network.main.name
  address_prefixes                = [local.subnet_prefixes.audit_app]
  default_outbound_access_enabled = false

  delegation {
    name = "serverfarms"
    service_delegation {
      name    = "Microsoft.Web/serverFarms"
      actions = ["Microsoft.Network/virtualNetworks/subnets/action"]
    }
  }
}

resource "azurerm_subnet" "private_endpoints" {
  name                              = "snet-private-endpoints"
  resource_group_name               = azurerm_resource_group.main.name
  virtual_network_name              = azurerm_virtual_network.main.name
  address_prefixes                  = [local.subnet_prefixes.private_endpoints]
  default_outbound_access_enabled   = false
  private_endpoint_network_policies = "NetworkSecurityGroupEnabled"
}

# ---- Network security groups -------------------------------------------------------------------

resource "azurerm_network_security_group" "apim" {
  name                = "nsg-${local.prefix}-apim"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  # The rules API Management needs in a VNet (External mode).
  security_rule {
    name                       = "allow-https-from-internet"
    priority                   = 100
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "Internet"
    destination_address_prefix = "VirtualNetwork"
  }
  security_rule {
    name                       = "allow-apim-management"
    priority                   = 110
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "3443"
    source_address_prefix      = "ApiManagement"
    destination_address_prefix = "VirtualNetwork"
  }
  security_rule {
    name                       = "allow-load-balancer"
    priority                   = 120
    direction                  = "Inbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "6390"
    source_address_prefix      = "AzureLoadBalancer"
    destination_address_prefix = "VirtualNetwork"
  }
  security_rule {
    name                       = "deny-other-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
  security_rule {
    name                       = "allow-storage"
    priority                   = 100
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "Storage"
  }
  security_rule {
    name                       = "allow-sql"
    priority                   = 110
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "1433"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "Sql"
  }
  security_rule {
    name                       = "allow-key-vault"
    priority                   = 120
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "AzureKeyVault"
  }
  security_rule {
    name                       = "allow-monitor"
    priority                   = 130
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_ranges    = ["443", "1886"]
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "AzureMonitor"
  }
  security_rule {
    name                       = "allow-vnet"
    priority                   = 140
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "VirtualNetwork"
  }
  # patient-app's public hostname, reached through the Microsoft.Web service endpoint.
  security_rule {
    name                       = "allow-app-service"
    priority                   = 150
    direction                  = "Outbound"
    access                     = "Allow"
    protocol                   = "Tcp"
    source_port_range          = "*"
    destination_port_range     = "443"
    source_address_prefix      = "VirtualNetwork"
    destination_address_prefix = "AppService"
  }
}

# The integration subnets receive no inbound traffic (inbound calls reach the apps through their
# front ends); outbound goes to the private endpoints, App Service (audit-app) and, through the
# NAT gateway, Azure Monitor.
resource "azurerm_network_security_group" "apps" {
  for_each = toset(["patient-app", "audit-app"])

  name                = "nsg-${local.prefix}-${each.key}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  security_rule {
    name                       = "deny-all-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_network_security_group" "private_endpoints" {
  name                = "nsg-${local.prefix}-private-endpoints"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags

  # Only the two apps and APIM talk to the private endpoints (HTTPS for Key Vault and storage,
  # 10255 for Cosmos DB's MongoDB endpoint).
  security_rule {
    name                    = "allow-apps-and-apim"
    priority                = 100
    direction               = "Inbound"
    access                  = "Allow"
    protocol                = "Tcp"
    source_port_range       = "*"
    destination_port_ranges = ["443", "10255"]
    source_address_prefixes = [
      local.subnet_prefixes.apim,
      local.subnet_prefixes.patient_app,
      local.subnet_prefixes.audit_app,
    ]
    destination_address_prefix = local.subnet_prefixes.private_endpoints
  }
  security_rule {
    name                       = "deny-other-inbound"
    priority                   = 4000
    direction                  = "Inbound"
    access                     = "Deny"
    protocol                   = "*"
    source_port_range          = "*"
    destination_port_range     = "*"
    source_address_prefix      = "*"
    destination_address_prefix = "*"
  }
}

resource "azurerm_subnet_network_security_group_association" "apim" {
  subnet_id                 = azurerm_subnet.apim.id
  network_security_group_id = azurerm_network_security_group.apim.id
}

resource "azurerm_subnet_network_security_group_association" "patient_app" {
  subnet_id                 = azurerm_subnet.patient_app.id
  network_security_group_id = azurerm_network_security_group.apps["patient-app"].id
}

resource "azurerm_subnet_network_security_group_association" "audit_app" {
  subnet_id                 = azurerm_subnet.audit_app.id
  network_security_group_id = azurerm_network_security_group.apps["audit-app"].id
}

resource "azurerm_subnet_network_security_group_association" "private_endpoints" {
  subnet_id                 = azurerm_subnet.private_endpoints.id
  network_security_group_id = azurerm_network_security_group.private_endpoints.id
}

# ---- Egress: a NAT gateway gives the app subnets one known outbound address --------------------

resource "azurerm_public_ip" "nat" {
  name                = "pip-${local.prefix}-nat"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  allocation_method   = "Static"
  sku                 = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway" "main" {
  name                = "ng-${local.prefix}"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  sku_name            = "Standard"
  tags                = local.tags
}

resource "azurerm_nat_gateway_public_ip_association" "main" {
  nat_gateway_id       = azurerm_nat_gateway.main.id
  public_ip_address_id = azurerm_public_ip.nat.id
}

resource "azurerm_subnet_nat_gateway_association" "patient_app" {
  subnet_id      = azurerm_subnet.patient_app.id
  nat_gateway_id = azurerm_nat_gateway.main.id
}

resource "azurerm_subnet_nat_gateway_association" "audit_app" {
  subnet_id      = azurerm_subnet.audit_app.id
  nat_gateway_id = azurerm_nat_gateway.main.id
}

# ---- Private DNS ---------------------------------------------------------------------------------

resource "azurerm_private_dns_zone" "zones" {
  for_each = local.private_dns_zones

  name                = each.value
  resource_group_name = azurerm_resource_group.main.name
  tags                = local.tags
}

resource "azurerm_private_dns_zone_virtual_network_link" "zones" {
  for_each = local.private_dns_zones

  name                  = "link-${each.key}"
  resource_group_name   = azurerm_resource_group.main.name
  private_dns_zone_name = azurerm_private_dns_zone.zones[each.key].name
  virtual_network_id    = azurerm_virtual_network.main.id
  registration_enabled  = false
  tags                  = local.tags
}
