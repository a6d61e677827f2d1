/** A Kubernetes object whose content changed and whose consumers may need a restart. */
export interface ChangedResource {
  cluster: string;
  kind: 'Secret' | 'ConfigMap' | 'SecretProviderClass';
  namespace: string;
  name: string;
}
