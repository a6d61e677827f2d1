// The Event Grid system topic of one Key Vault and, in phase two, its subscription to rotor's
// Event Grid function. Deployed at the vault's resource group (a system topic sits beside its
// source, in its region). The subscription is separate from the topic because Event Grid checks
// that the target function exists when the subscription is created: it can only be made after
// the code is deployed (deployEventSubscription, set by infra/hooks/postdeploy.sh).

@description('Name of the existing Key Vault whose events rotor receives.')
param vaultName string

@description('Region of the Key Vault; the system topic must be in it.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('System topic name. Azure allows one system topic per source: reuse its name if the vault already has one.')
param systemTopicName string

@description('Resource id of the user-assigned identity used to write dead letters.')
param eventGridIdentityId string

@description('Create the subscription (phase two, after the function code is deployed).')
param deployEventSubscription bool

@description('Resource id of rotor\'s Function App.')
param functionAppId string

@description('Name of the Event Grid-triggered function inside the app.')
param functionName string

@description('Event types delivered to rotor.')
param includedEventTypes array

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageAccountId string

@description('Blob container receiving events that could not be delivered.')
param deadLetterContainerName string

@description('Delivery attempts before an event is dead-lettered (1-30).')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 30

@description('Minutes an undelivered event is retried before it is dead-lettered (1-1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource systemTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: systemTopicName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${eventGridIdentityId}': {}
    }
  }
  properties: {
    source: vault.id
    topicType: 'Microsoft.KeyVault.vaults'
  }
}

resource rotorSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = if (deployEventSubscription) {
  parent: systemTopic
  name: 'rotor'
  properties: {
    // AzureFunction endpoints are called with the function's system key by Event Grid itself:
    // no webhook URL or key appears in this template.
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/${functionName}'
        // One event per call: each is deduplicated and acknowledged on its own.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: includedEventTypes
      enableAdvancedFilteringOnArrays: true
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // The storage account refuses shared keys, so dead letters are written with an identity
    // that holds Storage Blob Data Contributor on this one container.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'UserAssigned'
        userAssignedIdentity: eventGridIdentityId
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output systemTopicId string = systemTopic.id
output subscriptionCreated bool = deployEventSubscription
