// The one storage account rotor needs: the Functions host's own state (AzureWebJobsStorage),
// the Flex Consumption deployment package, rotor's idempotency/coalescing tables, and the
// Event Grid dead-letter container. Shared keys are off: every caller authenticates with Entra ID.

@description('Azure region of the account.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Globally unique storage account name (3-24 lower-case letters and digits).')
@minLength(3)
@maxLength(24)
param storageAccountName string

@description('Redundancy. ZRS where the region offers it; GRS buys nothing for rotor state, which is rebuilt from the backends.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Blob container Flex Consumption deploys the app package to.')
param deploymentContainerName string

@description('Blob container Event Grid writes undeliverable events to.')
param deadLetterContainerName string

@description('Principal id of the identity rotor runs as.')
param rotorPrincipalId string

@description('Principal id of the identity Event Grid dead-letters with.')
param eventGridPrincipalId string

// Built-in role definition ids (stable across tenants).
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageQueueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
var storageTableDataContributor = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'

// The Functions host needs blob (leases, package), queue (timer/retry internals) and table
// (rotor state); these are the roles Microsoft documents for identity-based AzureWebJobsStorage.
var rotorRoles = [
  storageBlobDataOwner
  storageQueueDataContributor
  storageTableDataContributor
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageAccountName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  //checkov:skip=CKV_AZURE_35: Flex Consumption without VNet integration reaches its storage over the public endpoint, so the default action cannot be Deny; every request is Entra-authenticated (allowSharedKeyAccess false, no anonymous blobs). Add VNet integration and a private endpoint if policy demands it.
  //checkov:skip=CKV_AZURE_59: Same cause as CKV_AZURE_35: public network access is how the Functions host and Event Grid reach the account; public blob access and shared keys are both off.
  //checkov:skip=CKV_AZURE_206: Redundancy is the storageSkuName parameter; rotor's tables hold short-lived idempotency and coalescing records rebuilt from the backends, so LRS is the default.
  //checkov:skip=CKV_AZURE_43: The name is a parameter (strotor + uniqueString) that checkov cannot evaluate; @minLength/@maxLength bound it and uniqueString yields lower-case letters and digits only.
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
    encryption: {
      keySource: 'Microsoft.Storage'
      requireInfrastructureEncryption: true
      services: {
        blob: {
          enabled: true
        }
        file: {
          enabled: true
        }
        queue: {
          enabled: true
          keyType: 'Account'
        }
        table: {
          enabled: true
          keyType: 'Account'
        }
      }
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deadLetterContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource rotorStorageRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for roleId in rotorRoles: {
    name: guid(account.id, rotorPrincipalId, roleId)
    scope: account
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
      principalId: rotorPrincipalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Event Grid only ever writes dead letters: contributor on that one container, nothing else.
resource eventGridDeadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, eventGridPrincipalId, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: eventGridPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = account.id
output name string = account.name
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
output deploymentContainerName string = deploymentContainer.name
output deadLetterContainerName string = deadLetterContainer.name
