// rotor's data-plane role on one existing Key Vault (Azure RBAC permission model). Deployed at
// the vault's resource group.
// - rotate: true  -> a custom role with exactly the data actions rotor calls: read a secret
//   (getSecret: the current value a rotation starts from), write a new version (setSecret),
//   list and read properties (readMetadata: the timer's due scan, health). No delete, purge,
//   backup, restore or recover: Key Vault Secrets Officer would grant all of those.
// - rotate: false -> Key Vault Reader: rotor only reacts to changes others make there, and never
//   reads a value (Key Vault Secrets User would let it read every value).

@description('Name of an existing Key Vault that uses the Azure RBAC permission model.')
param vaultName string

@description('true: rotor rotates secrets here (custom role: read, write, list); false: it only reacts (Key Vault Reader).')
param rotate bool

@description('Principal id of the identity rotor runs as.')
param principalId string

var keyVaultReader = '21090545-7ca7-4776-b22c-e363652d74d2'
var rotatorDataActions = [
  'Microsoft.KeyVault/vaults/secrets/getSecret/action'
  'Microsoft.KeyVault/vaults/secrets/setSecret/action'
  'Microsoft.KeyVault/vaults/secrets/readMetadata/action'
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource rotatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = if (rotate) {
  name: guid(vault.id, 'rotor-secret-rotator')
  properties: {
    roleName: 'rotor secret rotator (${vaultName}, ${uniqueString(vault.id)})'
    description: 'Read, list and write new versions of secrets in one Key Vault; nothing else.'
    type: 'CustomRole'
    assignableScopes: [vault.id]
    permissions: [
      {
        actions: []
        notActions: []
        dataActions: rotatorDataActions
        notDataActions: []
      }
    ]
  }
}

var roleDefinitionId = rotate ? rotatorRole.id : subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultReader)

resource secretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, rotate ? 'rotor-secret-rotator' : keyVaultReader)
  scope: vault
  properties: {
    roleDefinitionId: roleDefinitionId
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output vaultId string = vault.id
output vaultUri string = vault.properties.vaultUri
// The Event Grid system topic must live in the vault's region.
output location string = vault.location
output roleDefinitionId string = roleDefinitionId
