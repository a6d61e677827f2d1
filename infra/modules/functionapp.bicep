// The Function App on Flex Consumption (plan FC1), Node 20, running as rotor's user-assigned
// identity. Storage is reached by identity (AzureWebJobsStorage__*), never by key; Flex takes
// the runtime from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION
// / WEBSITE_RUN_FROM_PACKAGE are deliberately absent (Flex rejects them).

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Flex Consumption plan name.')
param planName string

@description('Function App name (also its default host name).')
param functionAppName string

@description('azd service name this app is deployed as (azure.yaml services key).')
param azdServiceName string = 'rotor'

@description('Resource id of the identity rotor runs as.')
param identityId string

@description('Client id of the identity rotor runs as.')
param identityClientId string

@description('Storage account name used by the Functions host and rotor state.')
param storageAccountName string

@description('Blob endpoint of that account, e.g. https://<name>.blob.core.windows.net/')
param storageBlobEndpoint string

@description('Blob container holding the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string.')
param appInsightsConnectionString string

@description('Maximum instances Flex may scale out to. rotor coalesces per workload, so a few suffice.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('rotor settings (ROTOR_* and ROTOR_CONFIG_JSON), merged over the identity and telemetry settings below.')
@secure()
param rotorSettings object

// Identity-based host storage: accountName + credential + clientId is the documented triple
// for a user-assigned identity. AZURE_CLIENT_ID lets DefaultAzureCredential in rotor (Key Vault,
// Tables, AKS tokens) pick the same identity.
var platformSettings = {
  AzureWebJobsStorage__accountName: storageAccountName
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AZURE_CLIENT_ID: identityClientId
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  //checkov:skip=CKV_AZURE_225: Flex Consumption zone redundancy is offered only in some regions; a lost instance costs a retry, since Event Grid redelivers and rotor's work is idempotent.
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, {
    'azd-service-name': azdServiceName
  })
  kind: 'functionapp,linux'
  //checkov:skip=CKV_AZURE_222: Event Grid cannot deliver to private endpoints and the Vault audit forwarder posts over HTTPS, so the app must be reachable; each endpoint authenticates its caller (function keys, bearer token or HMAC).
  //checkov:skip=CKV_AZURE_17: Neither Event Grid nor log forwarders present client certificates; callers authenticate with function keys, a bearer token or an HMAC signature.
  //checkov:skip=CKV_AZURE_212: Flex Consumption scales from zero per event; there are no fixed instances to keep for failover, and Event Grid retries cover a cold start.
  //checkov:skip=CKV_AZURE_213: App Service health checks do not apply to Flex Consumption, which has no fixed instance pool to evict from; failures surface in Application Insights.
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    // Key Vault references in app settings (e.g. ROTOR_WEBHOOK_TOKEN) resolve as this identity.
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // The whole list is written on every deployment: a setting missing here is removed.
      appSettings: [
        for setting in items(union(rotorSettings, platformSettings)): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Deployments authenticate with Entra ID (azd, OneDeploy); basic publishing credentials are
// a second, password-shaped way in that nothing here needs.
resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: {
    allow: false
  }
}

output id string = site.id
output name string = site.name
output defaultHostName string = site.properties.defaultHostName
