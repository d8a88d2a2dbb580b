/**
 * The security properties env/ must keep, read from the Terraform itself. Provider downloads are
 * not reachable here, so `terraform validate` cannot run; these tests and checkov
 * (npm run check:infra) are the checks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { block, blocks, loadDir, moduleCall, repoRoot, resource, type TerraformDir } from './terraform';

let root: TerraformDir;
let functionApp: TerraformDir;
let mongo: TerraformDir;
let keyVault: TerraformDir;

beforeAll(async () => {
  [root, functionApp, mongo, keyVault] = await Promise.all([
    loadDir('.'),
    loadDir('modules/function_app'),
    loadDir('modules/mongo_account'),
    loadDir('modules/key_vault'),
  ]);
});

describe('Cosmos DB for MongoDB', () => {
  it('has no public endpoint and is reached through a private endpoint', () => {
    const account = resource(mongo, 'azurerm_cosmosdb_account', 'this');
    expect(account.public_network_access_enabled).toBe(false);
    expect(account.network_acl_bypass_for_azure_services).toBe(false);
    expect(account.ip_range_filter).toBeUndefined();
    expect(account.minimal_tls_version).toBe('Tls12');
    expect(account.kind).toBe('MongoDB');
    const endpoint = moduleCall(mongo, 'private_endpoint');
    expect(endpoint.subresource).toBe('MongoDB');
    expect(endpoint.resource_id).toBe('${azurerm_cosmosdb_account.this.id}');
  });

  it("shards every collection on _shardKey and leaves the apps' own indexes alone", () => {
    const collection = resource(mongo, 'azurerm_cosmosdb_mongo_collection', 'this');
    expect(collection.shard_key).toBe('_shardKey');
    expect(block(collection, 'lifecycle').ignore_changes).toEqual(['${index}']);
  });

  it("declares every collection patient-app's code uses, since the account's keys cannot create one", async () => {
    expect(resource(mongo, 'azurerm_cosmosdb_account', 'this').access_key_metadata_writes_enabled).toBe(false);
    // Built by `npm run build`, which every test run follows (a variable: env/ does not typecheck against the apps).
    const specifier = '@patient-records/patient-app/dist/data/documents';
    const { collections } = (await import(specifier)) as { collections: Record<string, string> };
    const declared = Object.keys(moduleCall(root, 'patient_data').collections as object).sort();
    expect(declared).toEqual(Object.values(collections).sort());
  });

  it('gives each app a database of its own, in separate accounts', () => {
    const patients = moduleCall(root, 'patient_data');
    const audit = moduleCall(root, 'audit_data');
    expect(patients.source).toBe('./modules/mongo_account');
    expect(audit.source).toBe('./modules/mongo_account');
    expect(patients.database_name).toBe('${var.patient_database_name}');
    expect(audit.database_name).toBe('${var.audit_database_name}');
    expect(Object.keys(patients.collections as object).sort()).toEqual([
      'idempotencyKeys',
      'patientVersions',
      'patients',
      'supportRestarts',
      'tests',
    ]);
    expect(Object.keys(audit.collections as object)).toEqual(['audits']);
  });
});

describe('Key Vault', () => {
  it('uses RBAC, purge protection and a deny-by-default firewall', () => {
    const vault = resource(keyVault, 'azurerm_key_vault', 'this');
    expect(vault.rbac_authorization_enabled).toBe(true);
    expect(vault.purge_protection_enabled).toBe(true);
    expect(vault.access_policy).toBeUndefined();
    const acls = block(vault, 'network_acls');
    expect(acls.default_action).toBe('Deny');
    expect(acls.bypass).toBe('AzureServices');
    expect(acls.virtual_network_subnet_ids).toBeUndefined();
    expect(moduleCall(keyVault, 'private_endpoint').subresource).toBe('vault');
  });

  it('is public only when operator ranges are given, and none are by default', () => {
    const vault = resource(keyVault, 'azurerm_key_vault', 'this');
    expect(vault.public_network_access_enabled).toBe('${local.operator_access}');
    expect(keyVault.locals.operator_access).toBe('${length(var.operator_ip_ranges) > 0}');
    expect(root.variable.operator_ip_ranges?.[0]?.default).toEqual([]);
    for (const name of ['patient_vault', 'audit_vault'])
      expect(moduleCall(root, name).operator_ip_ranges).toBe('${var.operator_ip_ranges}');
  });

  it('receives generated secrets write-only, never as a value in state', () => {
    const secrets = Object.entries(root.resource.azurerm_key_vault_secret ?? {});
    expect(secrets.length).toBeGreaterThan(0);
    for (const [name, [secret]] of secrets) {
      expect([name, secret?.value]).toEqual([name, undefined]);
      expect([name, typeof secret?.value_wo]).toEqual([name, 'string']);
    }
    expect(Object.keys(root.ephemeral.random_password ?? {}).sort()).toEqual([
      'continuation_token_key',
      'function_key',
      'idempotency_hmac_key',
      'payload_encryption_key',
    ]);
    expect(root.resource.random_password).toBeUndefined();
  });

  it('gives each app its own vault, and APIM only the two keys it sends', () => {
    const own = root.resource.azurerm_role_assignment?.app_reads_own_vault?.[0];
    expect(own?.role_definition_name).toBe('Key Vault Secrets User');
    expect(own?.for_each).toEqual({
      patient: { vault: '${module.patient_vault.id}', principal: '${module.patient_app.principal_id}' },
      audit: { vault: '${module.audit_vault.id}', principal: '${module.audit_app.principal_id}' },
    });
    const apim = root.resource.azurerm_role_assignment?.apim_reads_function_keys?.[0];
    expect(apim?.role_definition_name).toBe('Key Vault Secrets User');
    expect(apim?.scope).toBe('${azurerm_key_vault_secret.function_key[each.key].resource_versionless_id}');
    expect(apim?.for_each).toBe('${toset(["patient-api-key", "support-api-key"])}');
    const everything = JSON.stringify([root.resource, functionApp.resource, keyVault.resource, mongo.resource]);
    for (const broad of ['"Owner"', '"Contributor"', '"Key Vault Administrator"', '"User Access Administrator"']) {
      expect([broad, everything.includes(broad)]).toEqual([broad, false]);
    }
    // Only the deployer writes secrets.
    expect(resource(keyVault, 'azurerm_role_assignment', 'deployer').principal_id).toBe('${var.deployer_principal_id}');
    expect(everything.split('"Key Vault Secrets Officer"').length - 1).toBe(1);
  });
});

describe('storage for each app', () => {
  it('allows Entra ID only, over private endpoints, with a deny-by-default firewall', () => {
    const account = resource(functionApp, 'azurerm_storage_account', 'this');
    expect(account.shared_access_key_enabled).toBe(false);
    expect(account.allow_nested_items_to_be_public).toBe(false);
    expect(account.min_tls_version).toBe('TLS1_2');
    expect(account.public_network_access_enabled).toBe('${local.operator_access}');
    expect(block(account, 'network_rules').default_action).toBe('Deny');
    const endpoints = moduleCall(functionApp, 'storage_private_endpoint');
    expect(endpoints.for_each).toBe('${var.private_dns_zone_ids}');
    const zoneType = String(functionApp.variable.private_dns_zone_ids?.[0]?.type);
    for (const service of ['blob', 'queue', 'table'])
      expect(zoneType).toMatch(new RegExp(`\\b${service}\\s*=\\s*string`));
  });
});

describe('function apps', () => {
  it('run Node 22 on Functions v4 over HTTPS with TLS 1.2, no FTP and no basic publishing', () => {
    const app = resource(functionApp, 'azurerm_linux_function_app', 'this');
    expect(app.functions_extension_version).toBe('~4');
    expect(app.https_only).toBe(true);
    expect(app.ftp_publish_basic_authentication_enabled).toBe(false);
    expect(app.webdeploy_publish_basic_authentication_enabled).toBe(false);
    const site = block(app, 'site_config');
    expect(block(site, 'application_stack').node_version).toBe('22');
    expect(site.minimum_tls_version).toBe('1.2');
    expect(site.scm_minimum_tls_version).toBe('1.2');
    expect(site.ftps_state).toBe('Disabled');
  });

  it('are VNet-integrated with all outbound traffic routed through the VNet', () => {
    const app = resource(functionApp, 'azurerm_linux_function_app', 'this');
    expect(app.virtual_network_subnet_id).toBe('${var.integration_subnet_id}');
    expect(block(app, 'site_config').vnet_route_all_enabled).toBe(true);
    for (const name of ['patient_app', 'audit_app']) {
      const subnet = resource(root, 'azurerm_subnet', name);
      expect(block(block(subnet, 'delegation'), 'service_delegation').name).toBe('Microsoft.Web/serverFarms');
      expect(moduleCall(root, name).integration_subnet_id).toBe(`\${azurerm_subnet.${name}.id}`);
    }
  });

  it('admit one caller subnet and deny everything else, SCM included', () => {
    const site = block(resource(functionApp, 'azurerm_linux_function_app', 'this'), 'site_config');
    expect(site.ip_restriction_default_action).toBe('Deny');
    const rules = blocks(site, 'ip_restriction');
    expect(rules).toHaveLength(1);
    expect(rules[0]?.virtual_network_subnet_id).toBe('${var.allowed_caller_subnet_id}');
    expect(rules[0]?.action).toBe('Allow');
    expect(site.scm_use_main_ip_restriction).toBe(false);
    expect(site.scm_ip_restriction_default_action).toBe('Deny');
    expect(blocks(site, 'scm_ip_restriction')).toHaveLength(0);

    expect(moduleCall(root, 'patient_app').allowed_caller_subnet_id).toBe('${azurerm_subnet.apim.id}');
    expect(moduleCall(root, 'audit_app').allowed_caller_subnet_id).toBe('${azurerm_subnet.patient_app.id}');
    // The callers' subnets must route App Service traffic through the service endpoint that
    // the restriction matches.
    expect(resource(root, 'azurerm_subnet', 'apim').service_endpoints).toEqual(['Microsoft.Web']);
    expect(resource(root, 'azurerm_subnet', 'patient_app').service_endpoints).toEqual(['Microsoft.Web']);
  });

  it('use system-assigned identities, including for AzureWebJobsStorage', () => {
    const app = resource(functionApp, 'azurerm_linux_function_app', 'this');
    expect(block(app, 'identity').type).toBe('SystemAssigned');
    expect(app.storage_uses_managed_identity).toBe(true);
    expect(app.storage_account_access_key).toBeUndefined();
    expect(app.content_share_force_disabled).toBe(true);
  });
});

describe('outputs', () => {
  it('hand out nothing secret', () => {
    for (const [name, [output]] of Object.entries(root.output)) {
      const value = JSON.stringify(output?.value);
      expect([name, output?.sensitive]).toEqual([name, undefined]);
      expect([
        name,
        /connection_string|primary_key|secondary_key|access_key|\.value\b|value_wo|random_password|ephemeral/.test(
          value,
        ),
      ]).toEqual([name, false]);
    }
  });

  it('mark every module output that carries a key as sensitive', () => {
    for (const [name, [output]] of Object.entries(mongo.output)) {
      if (JSON.stringify(output?.value).includes('connection_string'))
        expect([name, output?.sensitive]).toEqual([name, true]);
    }
  });
});

describe('observability', () => {
  it('sends diagnostics of every service to Log Analytics', () => {
    const targets = [
      ...Object.values(root.module).map((calls) => calls[0]),
      ...Object.values(functionApp.module).map((calls) => calls[0]),
      ...Object.values(mongo.module).map((calls) => calls[0]),
      ...Object.values(keyVault.module).map((calls) => calls[0]),
    ]
      .filter((call) => call?.source === './modules/diagnostics' || call?.source === '../diagnostics')
      .map((call) => JSON.stringify(call?.for_each ?? call?.target_resource_id));
    const joined = targets.join(' ');
    for (const service of [
      'azurerm_key_vault.this.id',
      'azurerm_api_management.main.id',
      'azurerm_cosmosdb_account.this.id',
      'azurerm_linux_function_app.this.id',
      'azurerm_service_plan.this.id',
      'azurerm_storage_account.this.id}/blobServices',
      'azurerm_storage_account.this.id}/queueServices',
      'azurerm_storage_account.this.id}/tableServices',
    ]) {
      expect([service, joined.includes(service)]).toEqual([service, true]);
    }
    expect(resource(root, 'azurerm_application_insights', 'main').workspace_id).toBe(
      '${azurerm_log_analytics_workspace.main.id}',
    );
  });

  it('alerts on failed and compensated writes and on 5xx', () => {
    const events = Object.values(root.locals.write_outcome_alerts as Record<string, { event: string }>).map(
      (a) => a.event,
    );
    expect(events.sort()).toEqual(['PatientWriteCompensated', 'PatientWriteFailed']);
    // The names the telemetry module emits (a rename there must be made here too).
    const emitter = readFileSync(join(repoRoot, 'platform', 'src', 'telemetry', 'spans.ts'), 'utf8');
    for (const event of events) expect([event, emitter.includes(`'${event}'`)]).toEqual([event, true]);
    const query = String(
      block(resource(root, 'azurerm_monitor_scheduled_query_rules_alert_v2', 'write_outcome'), 'criteria').query,
    );
    expect(query).toContain('customEvents');
    expect(query).toContain('${each.value.event}');
    // Support's own terminate emits PatientWriteFailed (reason terminated); it must not page support.
    expect(query).toContain('| where tostring(customDimensions.reason) != "terminated"');
    const terminate = readFileSync(join(repoRoot, 'patient-app', 'src', 'support', 'support-service.ts'), 'utf8');
    expect(terminate).toContain("reason: 'terminated'");
    expect(block(resource(root, 'azurerm_monitor_metric_alert', 'app_5xx'), 'criteria').metric_name).toBe('Http5xx');
    expect(JSON.stringify(resource(root, 'azurerm_monitor_metric_alert', 'apim_5xx'))).toContain('5xx');
  });
});
