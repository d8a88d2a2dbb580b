/**
 * What the apps and the gateway get from Terraform: exactly the settings the apps' code reads,
 * secrets only as versionless Key Vault references, and APIM policy files that use the named
 * values Terraform defines.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { parse as parseYaml } from 'yaml';

import {
  type Block,
  block,
  loadDir,
  moduleCall,
  policyFiles,
  repoRoot,
  resource,
  type TerraformDir,
} from './terraform';

let root: TerraformDir;
let functionApp: TerraformDir;

beforeAll(async () => {
  [root, functionApp] = await Promise.all([loadDir('.'), loadDir('modules/function_app')]);
});

/** The setting names an app's code exports (`appSettingNames` in src/settings.ts), once built. */
async function namesFromCode(app: string): Promise<string[] | undefined> {
  const compiled = join(repoRoot, app, 'dist', 'settings.js');
  if (!existsSync(compiled)) return undefined;
  const specifier = `@patient-records/${app}/dist/settings`;
  const module: { appSettingNames?: readonly string[] } = await import(specifier);
  return module.appSettingNames ? [...module.appSettingNames] : undefined;
}

// The names the apps were specified to read, used until an app exports its own list.
const specified: Record<string, string[]> = {
  'patient-app': [
    'MONGODB_CONNECTION_STRING',
    'PATIENT_DATABASE_NAME',
    'AUDIT_API_URL',
    'AUDIT_API_KEY',
    'AUDIT_TIMEOUT_MS',
    'PAYLOAD_ENCRYPTION_KEY',
    'IDEMPOTENCY_HMAC_KEY',
    'WRITE_WAIT_TIMEOUT_MS',
    'KEY_VAULT_URL',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
  ],
  'audit-app': [
    'MONGODB_CONNECTION_STRING',
    'AUDIT_DATABASE_NAME',
    'KEY_VAULT_URL',
    'APPLICATIONINSIGHTS_CONNECTION_STRING',
  ],
};

const secretSettings = [
  'MONGODB_CONNECTION_STRING',
  'AUDIT_API_KEY',
  'PAYLOAD_ENCRYPTION_KEY',
  'PAYLOAD_ENCRYPTION_PREVIOUS_KEYS',
  'IDEMPOTENCY_HMAC_KEY',
  'IDEMPOTENCY_HMAC_PREVIOUS_KEYS',
  'CONTINUATION_TOKEN_KEY',
  'SUPPORT_API_KEY',
];

function providedSettings(app: 'patient-app' | 'audit-app'): Record<string, string> {
  const local = app === 'patient-app' ? 'patient_app_settings' : 'audit_app_settings';
  const call = moduleCall(root, app === 'patient-app' ? 'patient_app' : 'audit_app');
  expect(call.app_settings).toBe(`\${local.${local}}`);
  const settings = { ...(root.locals[local] as Record<string, string>) };
  // The module sets APPLICATIONINSIGHTS_CONNECTION_STRING through site_config.
  const site = block(resource(functionApp, 'azurerm_linux_function_app', 'this'), 'site_config');
  if (site.application_insights_connection_string === '${var.application_insights_connection_string}') {
    settings.APPLICATIONINSIGHTS_CONNECTION_STRING = String(call.application_insights_connection_string);
  }
  return settings;
}

describe.each(['patient-app', 'audit-app'] as const)('%s settings', (app) => {
  it('cover exactly the settings the code reads at start', async () => {
    // The Functions host reads APPLICATIONINSIGHTS_CONNECTION_STRING whether or not the app lists it.
    const expected = new Set([
      ...((await namesFromCode(app)) ?? specified[app]!),
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
    ]);
    expect(Object.keys(providedSettings(app)).sort()).toEqual([...expected].sort());
  });

  it('hold secrets only as versionless Key Vault references', () => {
    const settings = providedSettings(app);
    for (const [name, value] of Object.entries(settings)) {
      const isReference = value.startsWith('${local.kv_reference[');
      expect([name, isReference]).toEqual([name, secretSettings.includes(name)]);
      expect([
        name,
        /connection_string|primary_key|\.value\b|random_password/.test(value) &&
          name !== 'APPLICATIONINSIGHTS_CONNECTION_STRING',
      ]).toEqual([name, false]);
    }
    expect(String(root.locals.kv_reference)).toContain('@Microsoft.KeyVault(SecretUri=${secret.versionless_id})');
  });
});

it('points patient-app at audit-app and at its own vault', () => {
  const patient = root.locals.patient_app_settings as Record<string, string>;
  expect(patient.AUDIT_API_URL).toBe('https://${module.audit_app.default_hostname}');
  expect(patient.KEY_VAULT_URL).toBe('${module.patient_vault.vault_uri}');
  expect((root.locals.audit_app_settings as Record<string, string>).KEY_VAULT_URL).toBe(
    '${module.audit_vault.vault_uri}',
  );
});

describe('API Management', () => {
  it('runs in External VNet mode with a Developer SKU by default', () => {
    const apim = resource(root, 'azurerm_api_management', 'main');
    expect(apim.virtual_network_type).toBe('External');
    expect(block(apim, 'virtual_network_configuration').subnet_id).toBe('${azurerm_subnet.apim.id}');
    expect(apim.sku_name).toBe('${var.apim_sku}');
    expect(root.variable.apim_sku?.[0]?.default).toBe('Developer_1');
    expect(block(apim, 'identity').type).toBe('SystemAssigned');
  });

  it('imports the patient API from patient-app/openapi.yaml', () => {
    const api = resource(root, 'azurerm_api_management_api', 'patient');
    const imported = block(api, 'import');
    expect(imported.content_format).toBe('openapi');
    expect(imported.content_value).toBe('${file("${path.module}/../patient-app/openapi.yaml")}');
    expect(api.subscription_required).toBe(true);
  });

  it('imports the support API from patient-app/support-openapi.yaml, at /support in front of /api/support', () => {
    const api = resource(root, 'azurerm_api_management_api', 'support');
    const imported = block(api, 'import');
    expect(imported.content_format).toBe('openapi');
    expect(imported.content_value).toBe('${file("${path.module}/../patient-app/support-openapi.yaml")}');
    expect(api.path).toBe('support');
    expect(api.service_url).toBe('https://${module.patient_app.default_hostname}/api/support');
    expect(api.subscription_required).toBe(true);
    expect(block(api, 'subscription_key_parameter_names')).toEqual({
      header: 'Ocp-Apim-Subscription-Key',
      query: 'subscription-key',
    });
  });

  it('declares no operations by hand: both APIs take theirs from their OpenAPI documents', () => {
    expect(root.resource.azurerm_api_management_api_operation).toBeUndefined();
  });

  // APIM's API path is `api` and its backend is https://<patient-app>/api, so the document's
  // paths are relative to the route prefix; the support routes are a separate API and product.
  const openApi = join(repoRoot, 'patient-app', 'openapi.yaml');
  (existsSync(openApi) ? it : it.skip)(
    'finds paths relative to the route prefix, without support routes, in openapi.yaml',
    () => {
      const document = parseYaml(readFileSync(openApi, 'utf8')) as { paths?: Record<string, unknown> };
      const paths = Object.keys(document.paths ?? {});
      expect(paths).toContain('/patient');
      for (const path of paths)
        expect([path, path.startsWith('/api/') || path.startsWith('/support')]).toEqual([path, false]);
    },
  );

  // The support API's path is `support` and its backend https://<patient-app>/api/support, so that
  // document's paths are relative to /api/support (`/writes`, not `/api/support/writes`).
  const supportOpenApi = join(repoRoot, 'patient-app', 'support-openapi.yaml');
  (existsSync(supportOpenApi) ? it : it.skip)('finds paths relative to /api/support in support-openapi.yaml', () => {
    const document = parseYaml(readFileSync(supportOpenApi, 'utf8')) as {
      servers?: { url: string }[];
      paths?: Record<string, unknown>;
    };
    expect(document.servers?.[0]?.url).toBe('/api/support');
    const paths = Object.keys(document.paths ?? {});
    expect(paths).toContain('/writes');
    for (const path of paths)
      expect([path, path.startsWith('/api/') || path.startsWith('/support')]).toEqual([path, false]);
  });

  it('publishes the patient API to consumers and the support API in a separate product', () => {
    const links = root.resource.azurerm_api_management_product_api ?? {};
    expect(links.consumers?.[0]?.api_name).toBe('${azurerm_api_management_api.patient.name}');
    expect(links.support?.[0]?.api_name).toBe('${azurerm_api_management_api.support.name}');
    expect(Object.keys(links).sort()).toEqual(['consumers', 'support']);
    for (const name of ['consumers', 'support']) {
      const product = resource(root, 'azurerm_api_management_product', name);
      expect([name, product.subscription_required, product.approval_required]).toEqual([name, true, true]);
    }
  });

  it('applies each policy file it declares', () => {
    const applied: Block[] = [
      ...Object.values(root.resource.azurerm_api_management_api_policy ?? {}).map((b) => b[0]!),
      ...Object.values(root.resource.azurerm_api_management_product_policy ?? {}).map((b) => b[0]!),
    ];
    const files = applied.map((b) => /policies\/([\w-]+\.xml)/.exec(String(b.xml_content))?.[1]).sort();
    expect(files).toEqual(['consumer-product.xml', 'patient-api.xml', 'support-api.xml', 'support-product.xml']);
    const fragments = resource(root, 'azurerm_api_management_policy_fragment', 'fragments');
    expect(fragments.value).toBe('${file("${path.module}/policies/${each.key}.xml")}');
    for (const name of ['strip-internal-request-headers', 'strip-internal-response-headers']) {
      expect(String(fragments.for_each)).toContain(`"${name}"`);
      expect(policyFiles().has(`${name}.xml`)).toBe(true);
    }
  });
});

describe('policy files', () => {
  const policies = policyFiles();

  it('are well-formed XML', () => {
    for (const [file, text] of policies) {
      const stack: string[] = [];
      const withoutComments = text.replace(/<!--[\s\S]*?-->/g, '');
      for (const match of withoutComments.matchAll(/<(\/?)([\w-]+)(?:"[^"]*"|[^>"])*?(\/?)>/g)) {
        const [, closing, name, selfClosing] = match;
        if (selfClosing) continue;
        if (closing) expect([file, stack.pop()]).toEqual([file, name]);
        else stack.push(name!);
      }
      expect([file, stack]).toEqual([file, []]);
    }
  });

  it('use only named values Terraform defines, and Terraform defines none that are unused', () => {
    const defined = Object.keys(root.locals.apim_named_values as object).sort();
    const used = new Set(
      [...policies.values()].flatMap((text) => [...text.matchAll(/\{\{([\w-]+)\}\}/g)].map((m) => m[1]!)),
    );
    expect([...used].sort()).toEqual(defined);
    expect((root.locals.apim_named_values as Record<string, string>)['patient-api-key-secret-url']).toBe(
      '${azurerm_key_vault_secret.function_key["patient-api-key"].versionless_id}',
    );
  });

  it.each(['patient-api.xml', 'support-api.xml'])(
    '%s fetches the function key from Key Vault with the managed identity, caches it and sends it',
    (file) => {
      const text = policies.get(file)!;
      const secret = file === 'patient-api.xml' ? 'patient-api-key' : 'support-api-key';
      expect(text).toContain(`<set-url>{{${secret}-secret-url}}?api-version=7.4</set-url>`);
      expect(text).toContain('<authentication-managed-identity resource="https://vault.azure.net" />');
      expect(text).toContain(`<cache-lookup-value key="${secret}" variable-name="functionKey" />`);
      expect(text).toContain(`duration="{{key-cache-seconds}}"`);
      expect(text).toContain(`<cache-remove-value key="${secret}" />`);
      expect(text).toMatch(
        /<set-header name="x-functions-key" exists-action="override">\s*<value>@\(\(string\)context\.Variables\["functionKey"\]\)<\/value>/,
      );
      expect(text).toContain('max-size="{{max-request-body-bytes}}" size-exceeded-action="prevent"');
      // Caller-supplied internal headers are removed before the key is set.
      expect(text.indexOf('strip-internal-request-headers')).toBeLessThan(text.indexOf('name="x-functions-key"'));
      expect(text).toContain('<include-fragment fragment-id="strip-internal-response-headers" />');
    },
  );

  it.each(['patient-api.xml', 'support-api.xml'])(
    '%s names the calling system by the subscription whose key passed, whatever the request claims',
    (file) => {
      const text = policies.get(file)!;
      expect(text).toMatch(
        /<set-header name="x-caller-system" exists-action="override">\s*<value>@\(context\.Subscription\.Id\)<\/value>/,
      );
      expect(text.indexOf('strip-internal-request-headers')).toBeLessThan(text.indexOf('name="x-caller-system"'));
    },
  );

  it('support-api.xml names the person by the APIM user who owns the subscription, or no one', () => {
    const text = policies.get('support-api.xml')!;
    expect(text).toMatch(
      /<when condition="@\(context\.User != null\)">\s*<set-header name="x-caller-user" exists-action="override">\s*<value>@\(context\.User\.Id\)<\/value>\s*<\/set-header>\s*<\/when>\s*<otherwise>\s*<set-header name="x-caller-user" exists-action="delete" \/>\s*<\/otherwise>/,
    );
    // The consumer API passes x-caller-user on as its calling system asserts it; it never sets one.
    expect(policies.get('patient-api.xml')).not.toContain('name="x-caller-user"');
  });

  it('limit rate and quota per subscription for consumers', () => {
    const text = policies.get('consumer-product.xml')!;
    expect(text).toMatch(
      /<rate-limit-by-key calls="\{\{consumer-rate-limit-calls\}\}" renewal-period="60" counter-key="@\(context\.Subscription\.Id\)"/,
    );
    expect(text).toMatch(
      /<quota-by-key calls="\{\{consumer-quota-calls\}\}" renewal-period="86400" counter-key="@\(context\.Subscription\.Id\)"/,
    );
  });

  it('strip the subscription key and caller-set function keys, and pass traceparent on', () => {
    const request = policies.get('strip-internal-request-headers.xml')!;
    expect(request).toContain('<set-header name="Ocp-Apim-Subscription-Key" exists-action="delete" />');
    expect(request).toContain('<set-header name="x-functions-key" exists-action="delete" />');
    for (const [file, text] of policies)
      expect([file, /name="(traceparent|tracestate)"[^>]*exists-action="delete"/i.test(text)]).toEqual([file, false]);
    const diagnostic = resource(root, 'azurerm_api_management_diagnostic', 'app_insights');
    expect(diagnostic.http_correlation_protocol).toBe('W3C');
    for (const part of ['frontend_request', 'frontend_response', 'backend_request', 'backend_response']) {
      expect([part, block(diagnostic, part).body_bytes]).toEqual([part, 0]);
    }
  });
});
