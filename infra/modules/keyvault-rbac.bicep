// rotor's data-plane role on one existing Key Vault (Azure RBAC permission model). Deployed at
// the vault's resource group. Secrets Officer where rotor writes new versions (rotation);
// Secrets User where it only reacts to changes others make and reads metadata.

@description('Name of an existing Key Vault that uses the Azure RBAC permission model.')
param vaultName string

@description('true: rotor rotates secrets here (Key Vault Secrets Officer); false: it only reacts (Key Vault Secrets User).')
param rotate bool

@description('Principal id of the identity rotor runs as.')
param principalId string

var keyVaultSecretsOfficer = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
var keyVaultSecretsUser = '4633458b-17de-408a-b874-0445c86b69e6'
var roleId = rotate ? keyVaultSecretsOfficer : keyVaultSecretsUser

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: vaultName
}

resource secretsRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output vaultId string = vault.id
output vaultUri string = vault.properties.vaultUri
// The Event Grid system topic must live in the vault's region.
output location string = vault.location
output roleDefinitionId string = roleId
