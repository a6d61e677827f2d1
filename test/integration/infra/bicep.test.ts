/**
 * Offline checks of infra/*.bicep: parsed with pycep-parser and scanned with checkov (both from
 * PyPI, pinned in requirements.txt), then the security and wiring promises of the deployment
 * are asserted on the parsed model. Nothing here talks to Azure.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../env/paths.js';
import {
  at,
  type BicepModel,
  bicepFiles,
  body,
  type CheckovReport,
  condition,
  parseBicep,
  requiredParams,
  resourcesOfType,
  runCheckov,
} from './bicep-tools.js';
import { ensurePyTools } from './pytools.js';

const KEY_VAULT_SECRETS_OFFICER = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7';
const KEY_VAULT_SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const KEY_VAULT_READER = '21090545-7ca7-4776-b22c-e363652d74d2';
const AKS_RBAC_WRITER = 'a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb';
const STORAGE_BLOB_DATA_OWNER = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b';

let files: string[];
let models: Map<string, BicepModel>;
let parseErrors: Map<string, string>;
let checkov: CheckovReport;

function model(file: string): BicepModel {
  const m = models.get(file);
  if (!m) throw new Error(`${file} was not parsed: ${parseErrors.get(file) ?? 'missing'}`);
  return m;
}

function only(m: BicepModel, type: string): Record<string, unknown> {
  const found = resourcesOfType(m, type);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return body((found[0] as [string, BicepModel['resources'][string]])[1]);
}

function appSettingNames(): Set<string> {
  const fn = model('infra/modules/functionapp.bicep');
  const platform = at(fn.variables.platformSettings, 'value') as Record<string, unknown>;
  const rotor = at(model('infra/main.bicep').variables.rotorSettings, 'value') as Record<string, unknown>;
  return new Set([...Object.keys(platform), ...Object.keys(rotor)]);
}

beforeAll(async () => {
  // First run installs checkov into .cache (pip, about two minutes); later runs reuse it.
  const tools = await ensurePyTools();
  files = await bicepFiles();
  [{ models, errors: parseErrors }, checkov] = await Promise.all([
    parseBicep(tools, files),
    runCheckov(tools),
  ]);
}, 900_000);

describe('Bicep offline checks', () => {
  it('parses every Bicep file under infra/ with pycep-parser', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'infra/main.bicep',
        'infra/modules/aks-rbac.bicep',
        'infra/modules/eventgrid.bicep',
        'infra/modules/functionapp.bicep',
        'infra/modules/identity.bicep',
        'infra/modules/keyvault-rbac.bicep',
        'infra/modules/monitoring.bicep',
        'infra/modules/storage.bicep',
      ]),
    );
    expect(Object.fromEntries(parseErrors)).toEqual({});
    expect(models.size).toBe(files.length);
  });

  it('passes checkov with no failed check, and every suppression states its reason', () => {
    expect(checkov.summary.parsing_errors).toBe(0);
    const failed = checkov.results.failed_checks.map(
      (c) => `${c.check_id} ${c.resource} (${c.file_path}): ${c.check_name}`,
    );
    expect(failed).toEqual([]);
    expect(checkov.summary.passed).toBeGreaterThan(0);
    for (const skipped of checkov.results.skipped_checks) {
      expect(
        skipped.check_result.suppress_comment ?? '',
        `${skipped.check_id} on ${skipped.resource}`,
      ).toMatch(/\w.{30,}/);
    }
  });

  it('passes every module exactly the parameters that module declares', async () => {
    const main = model('infra/main.bicep');
    expect(Object.keys(main.modules).sort()).toEqual([
      'aksRoles',
      'eventGrid',
      'functionApp',
      'identity',
      'keyVaultRoles',
      'monitoring',
      'storage',
    ]);
    for (const [name, mod] of Object.entries(main.modules)) {
      const target = model(path.posix.join('infra', mod.detail.path));
      const passed = Object.keys((body(mod).params as Record<string, unknown> | undefined) ?? {});
      const declared = Object.keys(target.parameters);
      expect(
        passed.filter((p) => !declared.includes(p)),
        `${name}: unknown parameters`,
      ).toEqual([]);
      expect(
        requiredParams(target).filter((p) => !passed.includes(p)),
        `${name}: missing parameters`,
      ).toEqual([]);
    }
  });

  it('runs the Function App on Flex Consumption (FC1), Node 20, as a user-assigned identity', () => {
    const fn = model('infra/modules/functionapp.bicep');
    const plan = only(fn, 'Microsoft.Web/serverfarms');
    expect(plan.sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const site = only(fn, 'Microsoft.Web/sites');
    expect(site.kind).toBe('functionapp,linux');
    expect(at(site, 'identity.type')).toBe('UserAssigned');
    expect(at(site, 'properties.httpsOnly')).toBe(true);
    expect(at(site, 'properties.functionAppConfig.runtime')).toEqual({ name: 'node', version: '20' });
    expect(at(site, 'properties.functionAppConfig.deployment.storage.authentication.type')).toBe(
      'UserAssignedIdentity',
    );
    // Tagged for azd: azure.yaml's service `rotor` deploys to this site.
    expect(JSON.stringify(site.tags)).toContain('azd-service-name');
    expect(at(fn.parameters, 'azdServiceName.default')).toBe('rotor');
  });

  it('reaches storage by identity only: no account key in any setting, shared keys disabled', async () => {
    const settings = appSettingNames();
    for (const name of [
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
      'AZURE_CLIENT_ID',
    ]) {
      expect(settings).toContain(name);
    }
    expect(settings).not.toContain('AzureWebJobsStorage');
    expect(settings).not.toContain('WEBSITE_CONTENTAZUREFILECONNECTIONSTRING');
    const platform = at(model('infra/modules/functionapp.bicep').variables.platformSettings, 'value');
    expect(at(platform, 'AzureWebJobsStorage__credential')).toBe('managedidentity');
    const account = only(model('infra/modules/storage.bicep'), 'Microsoft.Storage/storageAccounts');
    expect(at(account, 'properties.allowSharedKeyAccess')).toBe(false);
    expect(at(account, 'properties.allowBlobPublicAccess')).toBe(false);
    for (const file of files) {
      const text = await readFile(path.join(REPO_ROOT, file), 'utf8');
      expect(text, `${file} reads an account key`).not.toMatch(
        /listKeys|AccountKey=|listKeyValue|primaryKey/,
      );
    }
  });

  it('grants the Functions host the storage data roles identity-based AzureWebJobsStorage needs', () => {
    const storage = model('infra/modules/storage.bicep');
    const roles = at(storage.variables.rotorRoles, 'value');
    expect(roles).toEqual([
      'storageBlobDataOwner',
      'storageQueueDataContributor',
      'storageTableDataContributor',
    ]);
    expect(at(storage.variables.storageBlobDataOwner, 'value')).toBe(STORAGE_BLOB_DATA_OWNER);
    // Event Grid's dead-letter identity is scoped to the dead-letter container alone.
    const deadLetterRole = body(storage.resources.eventGridDeadLetterRole as BicepModel['resources'][string]);
    expect(deadLetterRole.scope).toBe('deadLetterContainer');
  });

  it('subscribes the Event Grid function with included types, a retry policy and a blob dead-letter, only in phase two', () => {
    const eg = model('infra/modules/eventgrid.bicep');
    const [[, topicResource]] = resourcesOfType(eg, 'Microsoft.EventGrid/systemTopics') as [
      [string, BicepModel['resources'][string]],
    ];
    expect(at(body(topicResource), 'properties.topicType')).toBe('Microsoft.KeyVault.vaults');
    const [[, subResource]] = resourcesOfType(eg, 'Microsoft.EventGrid/systemTopics/eventSubscriptions') as [
      [string, BicepModel['resources'][string]],
    ];
    expect(condition(subResource)).toBe('deployEventSubscription');
    const sub = body(subResource);
    expect(at(sub, 'properties.destination.endpointType')).toBe('AzureFunction');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a Bicep interpolation, read as text
    const functionResourceId = '${functionAppId}/functions/${functionName}';
    expect(at(sub, 'properties.destination.properties.resourceId')).toBe(functionResourceId);
    expect(at(sub, 'properties.filter.includedEventTypes')).toBe('includedEventTypes');
    expect(at(sub, 'properties.retryPolicy.maxDeliveryAttempts')).toBeDefined();
    expect(at(sub, 'properties.retryPolicy.eventTimeToLiveInMinutes')).toBeDefined();
    expect(at(sub, 'properties.deadLetterWithResourceIdentity.deadLetterDestination.endpointType')).toBe(
      'StorageBlob',
    );
    expect(
      at(sub, 'properties.deadLetterWithResourceIdentity.deadLetterDestination.properties.blobContainerName'),
    ).toBe('deadLetterContainerName');
    const main = model('infra/main.bicep');
    expect(main.parameters.deployEventSubscriptions?.default).toBe(false);
    expect(main.parameters.eventGridFunctionName?.default).toBe('keyVaultEvents');
    expect(main.parameters.includedEventTypes?.default).toEqual(
      expect.arrayContaining([
        'Microsoft.KeyVault.SecretNewVersionCreated',
        'Microsoft.KeyVault.SecretNearExpiry',
      ]),
    );
  });

  it('registers the function the subscription targets under the name main.bicep uses', async () => {
    const main = model('infra/main.bicep');
    const name = main.parameters.eventGridFunctionName?.default as string;
    // Triggers are registered in one place (functions/index.ts, package.json main).
    const source = await readFile(path.join(REPO_ROOT, 'functions', 'index.ts'), 'utf8');
    expect(source).toContain(`app.eventGrid('${name}'`);
    await expect(readFile(path.join(REPO_ROOT, 'functions', `${name}.ts`), 'utf8')).resolves.toContain(
      'export',
    );
  });

  it('gives rotor a custom role with exactly the data actions it calls where it rotates, and Key Vault Reader where it only reacts', () => {
    const kv = model('infra/modules/keyvault-rbac.bicep');
    expect(at(kv.variables.keyVaultReader, 'value')).toBe(KEY_VAULT_READER);
    expect(at(kv.variables.rotatorDataActions, 'value')).toEqual([
      'Microsoft.KeyVault/vaults/secrets/getSecret/action',
      'Microsoft.KeyVault/vaults/secrets/setSecret/action',
      'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
    ]);
    const [[, definition]] = resourcesOfType(kv, 'Microsoft.Authorization/roleDefinitions') as [
      [string, BicepModel['resources'][string]],
    ];
    expect(condition(definition)).toBe('rotate');
    const permissions = at(body(definition), 'properties.permissions') as Array<Record<string, unknown>>;
    expect(permissions).toEqual([
      { actions: [], notActions: [], dataActions: 'rotatorDataActions', notDataActions: [] },
    ]);
    // Assignable on this one vault only.
    expect(at(body(definition), 'properties.assignableScopes')).toEqual([
      { operator: { type: 'property_accessor', operands: { operand_1: 'vault', operand_2: 'id' } } },
    ]);
    const [[, assignment]] = resourcesOfType(kv, 'Microsoft.Authorization/roleAssignments') as [
      [string, BicepModel['resources'][string]],
    ];
    expect(body(assignment).scope).toBe('vault');
    expect(at(body(assignment), 'properties.roleDefinitionId')).toBe('roleDefinitionId');
    const text = JSON.stringify(kv);
    for (const broad of [
      KEY_VAULT_SECRETS_OFFICER,
      KEY_VAULT_SECRETS_USER,
      'delete',
      'purge',
      'backup',
      'restore',
      'recover',
    ])
      expect(text, broad).not.toContain(broad);
  });

  it('scopes the optional AKS role to namespaces with the AKS RBAC Writer role by default', () => {
    const aks = model('infra/modules/aks-rbac.bicep');
    expect(aks.parameters.roleDefinitionGuid?.default).toBe(AKS_RBAC_WRITER);
    expect(aks.resources.namespaceScopes?.type).toBe('Microsoft.ContainerService/managedClusters/namespaces');
    expect(body(aks.resources.namespaceScopes as BicepModel['resources'][string]).parent).toBe('cluster');
    const perNamespace = aks.resources.namespaceRoles as BicepModel['resources'][string];
    expect(at(perNamespace.config, 'loop_type.detail.array_name')).toBe('namespaces');
    expect(at(body(perNamespace), 'scope.operator.type')).toBe('index_accessor');
  });

  it('writes only settings rotor reads, and wires every ROTOR_* key of lib/config.ts', async () => {
    const readByCode = new Set<string>();
    const configDir = path.join(REPO_ROOT, 'lib', 'config');
    const configModules = (await readdir(configDir))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => path.join(configDir, f));
    const sources = [
      path.join(REPO_ROOT, 'lib', 'config.ts'),
      ...configModules,
      ...(await functionSources()),
    ];
    for (const file of sources) {
      for (const m of (await readFile(file, 'utf8')).matchAll(/\bROTOR_[A-Z0-9_]+\b/g)) readByCode.add(m[0]);
    }
    const written = [...appSettingNames()].filter((n) => n.startsWith('ROTOR_'));
    expect(written.filter((n) => !readByCode.has(n))).toEqual([]);
    // Local-only keys: a config file path, and the state store, which the host derives from
    // AzureWebJobsStorage__accountName in Azure.
    // ROTOR_HOST_*: the local host (npm start) only; the Functions host keys its own routes.
    const notForAzure = new Set([
      'ROTOR_CONFIG',
      'ROTOR_STATE_CONNECTION_STRING',
      'ROTOR_STATE_ACCOUNT_URL',
      'ROTOR_HOST_KEY',
      'ROTOR_HOST_ADDRESS',
    ]);
    const configKeys = [...readByCode].filter((k) => !notForAzure.has(k));
    expect(configKeys.filter((k) => !written.includes(k))).toEqual([]);
    expect(appSettingNames()).toContain('APPLICATIONINSIGHTS_CONNECTION_STRING');
  });

  it('keeps secret parameters secure and gives them no default value', () => {
    const main = model('infra/main.bicep');
    for (const name of ['webhookToken', 'webhookHmacSecret', 'rotorConfigJson']) {
      const decorators =
        (main.parameters[name] as { decorators?: { type: string }[] } | undefined)?.decorators ?? [];
      expect(
        decorators.map((d) => d.type),
        name,
      ).toContain('secure');
      expect(main.parameters[name]?.default, name).toBe('');
    }
    const fn = model('infra/modules/functionapp.bicep');
    const decorators = (fn.parameters.rotorSettings as { decorators?: { type: string }[] }).decorators ?? [];
    expect(decorators.map((d) => d.type)).toContain('secure');
  });

  it('names only declared parameters in the parameter files', async () => {
    const declared = Object.keys(model('infra/main.bicep').parameters);
    for (const file of ['infra/main.parameters.json', 'infra/main.parameters.example.json']) {
      const doc = JSON.parse(await readFile(path.join(REPO_ROOT, file), 'utf8')) as {
        parameters: Record<string, unknown>;
      };
      const unknown = Object.keys(doc.parameters).filter((p) => !declared.includes(p));
      expect(unknown, file).toEqual([]);
      expect(Object.keys(doc.parameters), file).toContain('environmentName');
    }
  });
});

async function functionSources(): Promise<string[]> {
  const dir = path.join(REPO_ROOT, 'functions');
  return (await readdir(dir)).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
}
