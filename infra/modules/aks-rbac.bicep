// Optional: an Azure RBAC role for rotor's identity on an existing AKS cluster that uses
// "Azure RBAC for Kubernetes authorization", scoped to the namespaces rotor restarts workloads
// in (scope `<cluster id>/namespaces/<ns>`). Deployed at the cluster's resource group.
//
// The built-in role covers the core/apps/batch objects. It does not name the custom resources
// rotor patches (ESO ExternalSecrets, VSO VaultStaticSecrets, Argo Rollouts) and it grants more
// than rotor uses (delete, create pods): the precise alternative is binding the `rotor`
// ClusterRole of infra/k8s to the identity's object id; docs/aks-access.md explains both.

@description('Name of the existing AKS cluster.')
param clusterName string

@description('Kubernetes namespaces to grant the role in. Empty: the whole cluster.')
param namespaces array

@description('Principal id of the identity rotor runs as.')
param principalId string

@description('Role definition id (GUID) to assign. Default: Azure Kubernetes Service RBAC Writer.')
param roleDefinitionGuid string = 'a7ffa36f-339b-4b5c-8bdf-e2c188b2c0eb'

resource cluster 'Microsoft.ContainerService/managedClusters@2024-05-01' existing = {
  name: clusterName
}

// AKS treats `<cluster id>/namespaces/<ns>` as an Azure RBAC scope; Bicep has no type for it.
#disable-next-line BCP081
resource namespaceScopes 'Microsoft.ContainerService/managedClusters/namespaces@2024-05-01' existing = [
  for ns in namespaces: {
    parent: cluster
    name: ns
  }
]

resource namespaceRoles 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (ns, i) in namespaces: {
    name: guid(cluster.id, ns, principalId, roleDefinitionGuid)
    scope: namespaceScopes[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource clusterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(namespaces)) {
  name: guid(cluster.id, principalId, roleDefinitionGuid)
  scope: cluster
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionGuid)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

output clusterId string = cluster.id
output apiServerFqdn string = cluster.properties.fqdn
