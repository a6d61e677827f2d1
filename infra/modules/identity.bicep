// Two user-assigned identities: one the Function App runs as (rotor), one the Event Grid
// system topics use to dead-letter undeliverable events. User-assigned so their grants can be
// made before the app exists and survive re-creating it; two so a subscription's dead-letter
// writer cannot act as rotor.

@description('Azure region of the identities.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the identity the Function App runs as.')
param rotorIdentityName string

@description('Name of the identity Event Grid uses to write dead-lettered events.')
param eventGridIdentityName string

resource rotor 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: rotorIdentityName
  location: location
  tags: tags
}

resource eventGrid 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: eventGridIdentityName
  location: location
  tags: tags
}

output rotorId string = rotor.id
output rotorName string = rotor.name
output rotorClientId string = rotor.properties.clientId
output rotorPrincipalId string = rotor.properties.principalId
output eventGridId string = eventGrid.id
output eventGridPrincipalId string = eventGrid.properties.principalId
