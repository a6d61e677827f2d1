// rotor on Azure: a Flex Consumption Function App running as a user-assigned identity, with
// identity-only storage, Application Insights on Log Analytics, data-plane roles on the Key
// Vaults it watches, an Event Grid system topic per vault and (phase two) a subscription to the
// Event Grid function, and optionally an Azure RBAC role on AKS clusters.
//
// Two phases, because Event Grid validates the target function when a subscription is created:
//   1. deployEventSubscriptions=false  → everything but the subscriptions (`azd provision`)
//   2. code deployed (`azd deploy`), then deployEventSubscriptions=true → subscriptions
// `azd up` does both: infra/hooks/postdeploy.sh runs phase two. See docs/deploy.md.

targetScope = 'resourceGroup'

@minLength(1)
@maxLength(40)
@description('Environment name (azd: AZURE_ENV_NAME); seeds resource names and the azd-env-name tag.')
param environmentName string

@description('Region of rotor\'s own resources. System topics follow their vault\'s region.')
param location string = resourceGroup().location

@description('Key Vaults rotor watches: [{ name, resourceGroup?, rotate? (default true), systemTopicName? }]. Each must use the Azure RBAC permission model.')
param keyVaults array = []

@description('AKS clusters rotor restarts workloads in: [{ name, resourceGroup?, namespaces? (default: whole cluster), assignAzureRbacRole? (default true), server?, caData? }]. namespaces becomes clusters[].namespaces of rotor\'s configuration (namespaced mode; Kubernetes RBAC: infra/k8s/namespaced/). The cluster entry of rotorConfigJson with the same name gets it; without one, server (https://<fqdn>:443) and caData make the entry.')
param aksClusters array = []

@description('Phase two: create the Event Grid subscriptions. Only after the function code is deployed.')
param deployEventSubscriptions bool = false

@description('Name of rotor\'s Event Grid-triggered function (functions/ registers it under this name).')
param eventGridFunctionName string = 'keyVaultEvents'

@description('Key Vault event types delivered to rotor.')
param includedEventTypes array = [
  'Microsoft.KeyVault.SecretNewVersionCreated'
  'Microsoft.KeyVault.SecretNearExpiry'
  'Microsoft.KeyVault.SecretExpired'
]

@description('Storage redundancy of rotor\'s account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

@description('Maximum Flex Consumption instances.')
param maximumInstanceCount int = 40

@description('Accept only Entra-authenticated telemetry in Application Insights.')
param appInsightsDisableLocalAuth bool = false

// ---- rotor settings (names from lib/config.ts ENV_KEYS) ------------------------------------

@description('Configuration document (JSON) merged over the generated Key Vault list: vaults, clusters, notifications. Becomes ROTOR_CONFIG_JSON. Or a Key Vault reference to the whole document.')
@secure()
param rotorConfigJson string = ''

@description('ROTOR_RESTART_STRATEGY: env-vars (Reloader default, converges with Reloader) or annotations.')
@allowed([
  'env-vars'
  'annotations'
])
param restartStrategy string = 'env-vars'

@description('ROTOR_AUTO_RELOAD_ALL (Reloader --auto-reload-all).')
param autoReloadAll bool = false

@description('ROTOR_NAMESPACE_SELECTOR: label selector namespaces must match.')
param namespaceSelector string = ''

@description('ROTOR_NAMESPACES_TO_IGNORE: comma list.')
param namespacesToIgnore string = ''

@description('ROTOR_RESOURCE_LABEL_SELECTOR: label selector Secrets/ConfigMaps must match.')
param resourceLabelSelector string = ''

@description('ROTOR_IGNORED_WORKLOAD_TYPES: comma list (e.g. jobs,cronjobs).')
param ignoredWorkloadTypes string = ''

@description('ROTOR_COALESCE_WINDOW_MS: changes for one workload within this window become one patch.')
@minValue(0)
@maxValue(60000)
param coalesceWindowMs int = 200

@description('ROTOR_RELOADER: coexist when Stakater Reloader also runs in the clusters (rotor then lets it restart first and only writes what it missed), none otherwise.')
@allowed([
  'none'
  'coexist'
])
param reloader string = 'none'

@description('ROTOR_RELOADER_GRACE_MS: with ROTOR_RELOADER=coexist, how long Reloader gets before rotor writes what it missed.')
@minValue(0)
@maxValue(30000)
param reloaderGraceMs int = 2000

@description('ROTOR_DRY_RUN: decide and report, patch nothing.')
param dryRun bool = false

@description('ROTOR_ROLLOUT_WAIT_MS: how long a run may hold its answer for the rollout it follows (0: answer at once, the follow-up goes on).')
@minValue(0)
@maxValue(20000)
param rolloutWaitMs int = 0

@description('ROTOR_FOLLOW_ROLLOUTS: follow each restart until rolled out or failed, and record it.')
param followRollouts bool = true

@description('ROTOR_ROLLOUT_TIMEOUT_MS: a rollout not complete within this is reported rollout-failed.')
@minValue(1000)
@maxValue(3600000)
param rolloutTimeoutMs int = 600000

@description('ROTOR_RUN_CONCURRENCY: pipeline runs one instance works on at once.')
@minValue(1)
@maxValue(64)
param runConcurrency int = 16

@description('ROTOR_RUN_QUEUE_LIMIT: runs waiting for a place; past it a delivery is answered 503 (Event Grid retries).')
@minValue(0)
@maxValue(100000)
param runQueueLimit int = 256

@description('ROTOR_SHUTDOWN_GRACE_MS: at worker termination, how long runs in flight may finish before their claims are given back (the hook has 5 s; rotor uses at most 4 s there).')
@minValue(0)
@maxValue(60000)
param shutdownGraceMs int = 4000

@description('ROTOR_REFRESH_TIMEOUT_MS: how long to wait for ESO/VSO to finish a forced sync.')
param refreshTimeoutMs int = 30000

@description('ROTOR_ROTATION_SCHEDULE: NCRONTAB (six fields) of the rotation timer.')
param rotationSchedule string = '0 0 * * * *'

@description('ROTOR_NEAR_EXPIRY_WINDOW_DAYS.')
param nearExpiryWindowDays int = 30

@description('ROTOR_DEFAULT_VALIDITY_DAYS.')
param defaultValidityDays int = 60

@description('ROTOR_ROTATION_UNDO: when a verified rotation (tag rotor-verify: rollout) fails a rollout, restore the previous credential where it is still valid.')
param rotationUndo bool = true

@description('ROTOR_STATE_TABLE_PREFIX: prefix of rotor\'s tables.')
param stateTablePrefix string = 'rotor'

@description('ROTOR_STATE_RETENTION_HOURS: completed event records are purged by the timer after this many hours (Event Grid retries for 24 h).')
@minValue(25)
param stateRetentionHours int = 48

@description('ROTOR_WEBHOOK_TOKEN: bearer token the Vault audit forwarder sends. Prefer a Key Vault reference: @Microsoft.KeyVault(VaultName=...;SecretName=...).')
@secure()
param webhookToken string = ''

@description('ROTOR_WEBHOOK_HMAC_SECRET: HMAC key for signed audit posts. Prefer a Key Vault reference.')
@secure()
param webhookHmacSecret string = ''

@description('ROTOR_WEBHOOK_MAX_BODY_BYTES.')
param webhookMaxBodyBytes int = 1048576

@description('ROTOR_LOG_LEVEL.')
@allowed([
  'debug'
  'info'
  'warn'
  'error'
])
param logLevel string = 'info'

// ---- names ---------------------------------------------------------------------------------

var token = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))
var tags = {
  'azd-env-name': environmentName
  application: 'rotor'
}
var deploymentContainerName = 'app-package-${token}'
var deadLetterContainerName = 'eventgrid-deadletter'

// The Key Vault part of rotor's configuration follows from what is deployed; rotorConfigJson
// adds the rest (Vault/OpenBao servers, clusters, notifications) and may override it.
var generatedConfig = {
  keyVaults: [
    for kv in keyVaults: {
      name: kv.name
      url: 'https://${kv.name}${environment().suffixes.keyvaultDns}'
      rotate: contains(kv, 'rotate') ? kv.rotate : true
    }
  ]
}
// A Key Vault reference (@Microsoft.KeyVault(...)) keeps kubeconfig tokens and Vault credentials
// out of app settings; it is passed through as-is and must then hold the whole document.
var rotorConfigIsReference = startsWith(rotorConfigJson, '@Microsoft.KeyVault(')
var givenConfig = json((empty(rotorConfigJson) || rotorConfigIsReference) ? '{}' : rotorConfigJson)
// Namespaced mode from aksClusters: an entry's namespaces go to the configuration's cluster of
// the same name (the namespaces the Azure role was assigned in are the ones rotor serves), or to
// a cluster entry made from its server when the configuration has none. Loops and indexOf, not
// lambdas: the offline checks parse this file with pycep-parser, which has no lambdas.
var aksEntries = concat([{ name: '' }], aksClusters) // index 0: the entry of a cluster aksClusters does not name
var aksEntryNames = [for a in aksEntries: a.name]
var givenClusters = contains(givenConfig, 'clusters') ? givenConfig.clusters : []
var givenClusterNames = [for c in givenClusters: c.name]
var givenClustersWithNamespaces = [for c in givenClusters: union(c, contains(aksEntries[max(0, indexOf(aksEntryNames, c.name))], 'namespaces') ? { namespaces: aksEntries[max(0, indexOf(aksEntryNames, c.name))].namespaces } : {})]
var clustersFromAks = [for a in aksClusters: union({ name: a.name, aks: union({ server: contains(a, 'server') ? a.server : '' }, contains(a, 'caData') ? { caData: a.caData } : {}) }, contains(a, 'namespaces') ? { namespaces: a.namespaces } : {})]
var clustersToAdd = [for (a, i) in aksClusters: (contains(a, 'server') && !contains(givenClusterNames, a.name)) ? [clustersFromAks[i]] : []]
var generatedClusters = concat(givenClustersWithNamespaces, flatten(clustersToAdd))
var rotorConfig = union(generatedConfig, givenConfig, empty(generatedClusters) ? {} : { clusters: generatedClusters })

var rotorSettings = {
  ROTOR_CONFIG_JSON: rotorConfigIsReference ? rotorConfigJson : string(rotorConfig)
  ROTOR_RESTART_STRATEGY: restartStrategy
  ROTOR_AUTO_RELOAD_ALL: autoReloadAll ? 'true' : 'false'
  ROTOR_NAMESPACE_SELECTOR: namespaceSelector
  ROTOR_NAMESPACES_TO_IGNORE: namespacesToIgnore
  ROTOR_RESOURCE_LABEL_SELECTOR: resourceLabelSelector
  ROTOR_IGNORED_WORKLOAD_TYPES: ignoredWorkloadTypes
  ROTOR_COALESCE_WINDOW_MS: string(coalesceWindowMs)
  ROTOR_RELOADER: reloader
  ROTOR_RELOADER_GRACE_MS: string(reloaderGraceMs)
  ROTOR_DRY_RUN: dryRun ? 'true' : 'false'
  ROTOR_ROLLOUT_WAIT_MS: string(rolloutWaitMs)
  ROTOR_FOLLOW_ROLLOUTS: followRollouts ? 'true' : 'false'
  ROTOR_ROLLOUT_TIMEOUT_MS: string(rolloutTimeoutMs)
  ROTOR_RUN_CONCURRENCY: string(runConcurrency)
  ROTOR_RUN_QUEUE_LIMIT: string(runQueueLimit)
  ROTOR_SHUTDOWN_GRACE_MS: string(shutdownGraceMs)
  ROTOR_REFRESH_TIMEOUT_MS: string(refreshTimeoutMs)
  ROTOR_ROTATION_SCHEDULE: rotationSchedule
  ROTOR_NEAR_EXPIRY_WINDOW_DAYS: string(nearExpiryWindowDays)
  ROTOR_ROTATION_UNDO: rotationUndo ? 'true' : 'false'
  ROTOR_DEFAULT_VALIDITY_DAYS: string(defaultValidityDays)
  ROTOR_STATE_TABLE_PREFIX: stateTablePrefix
  ROTOR_STATE_RETENTION_HOURS: string(stateRetentionHours)
  ROTOR_WEBHOOK_TOKEN: webhookToken
  ROTOR_WEBHOOK_HMAC_SECRET: webhookHmacSecret
  ROTOR_WEBHOOK_MAX_BODY_BYTES: string(webhookMaxBodyBytes)
  ROTOR_LOG_LEVEL: logLevel
}

// ---- modules -------------------------------------------------------------------------------

module identity 'modules/identity.bicep' = {
  name: 'rotor-identity'
  params: {
    location: location
    tags: tags
    rotorIdentityName: 'id-rotor-${token}'
    eventGridIdentityName: 'id-rotor-eventgrid-${token}'
  }
}

module storage 'modules/storage.bicep' = {
  name: 'rotor-storage'
  params: {
    location: location
    tags: tags
    storageAccountName: 'strotor${token}'
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    rotorPrincipalId: identity.outputs.rotorPrincipalId
    eventGridPrincipalId: identity.outputs.eventGridPrincipalId
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'rotor-monitoring'
  params: {
    location: location
    tags: tags
    workspaceName: 'log-rotor-${token}'
    appInsightsName: 'appi-rotor-${token}'
    disableLocalAuth: appInsightsDisableLocalAuth
    rotorPrincipalId: identity.outputs.rotorPrincipalId
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'rotor-functionapp'
  params: {
    location: location
    tags: tags
    planName: 'plan-rotor-${token}'
    functionAppName: 'func-rotor-${token}'
    identityId: identity.outputs.rotorId
    identityClientId: identity.outputs.rotorClientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    appInsightsConnectionString: monitoring.outputs.connectionString
    maximumInstanceCount: maximumInstanceCount
    rotorSettings: rotorSettings
  }
}

module keyVaultRoles 'modules/keyvault-rbac.bicep' = [
  for kv in keyVaults: {
    name: 'rotor-kv-rbac-${kv.name}'
    scope: resourceGroup(contains(kv, 'resourceGroup') ? kv.resourceGroup : resourceGroup().name)
    params: {
      vaultName: kv.name
      rotate: contains(kv, 'rotate') ? kv.rotate : true
      principalId: identity.outputs.rotorPrincipalId
    }
  }
]

module eventGrid 'modules/eventgrid.bicep' = [
  for (kv, i) in keyVaults: {
    name: 'rotor-eventgrid-${kv.name}'
    scope: resourceGroup(contains(kv, 'resourceGroup') ? kv.resourceGroup : resourceGroup().name)
    params: {
      vaultName: kv.name
      location: keyVaultRoles[i].outputs.location
      tags: tags
      systemTopicName: contains(kv, 'systemTopicName') ? kv.systemTopicName : 'evgt-${kv.name}'
      eventGridIdentityId: identity.outputs.eventGridId
      deployEventSubscription: deployEventSubscriptions
      functionAppId: functionApp.outputs.id
      functionName: eventGridFunctionName
      includedEventTypes: includedEventTypes
      deadLetterStorageAccountId: storage.outputs.id
      deadLetterContainerName: storage.outputs.deadLetterContainerName
    }
  }
]

module aksRoles 'modules/aks-rbac.bicep' = [
  for cluster in aksClusters: if (!contains(cluster, 'assignAzureRbacRole') || cluster.assignAzureRbacRole) {
    name: 'rotor-aks-rbac-${cluster.name}'
    scope: resourceGroup(contains(cluster, 'resourceGroup') ? cluster.resourceGroup : resourceGroup().name)
    params: {
      clusterName: cluster.name
      namespaces: contains(cluster, 'namespaces') ? cluster.namespaces : []
      principalId: identity.outputs.rotorPrincipalId
    }
  }
]

// ---- outputs (azd stores them in the environment) -----------------------------------------

output AZURE_LOCATION string = location
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_APP_ID string = functionApp.outputs.id
output ROTOR_URL string = 'https://${functionApp.outputs.defaultHostName}'
output ROTOR_IDENTITY_CLIENT_ID string = identity.outputs.rotorClientId
// Bind infra/k8s's ClusterRole to this object id for AKS with Entra ID (docs/aks-access.md).
output ROTOR_IDENTITY_PRINCIPAL_ID string = identity.outputs.rotorPrincipalId
output ROTOR_EVENT_GRID_FUNCTION string = eventGridFunctionName
output ROTOR_EVENT_SUBSCRIPTIONS_DEPLOYED bool = deployEventSubscriptions
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
