/** A Kubernetes object whose content changed and whose consumers may need a restart. */
export interface ChangedResource {
  cluster: string;
  kind: 'Secret' | 'ConfigMap' | 'SecretProviderClass';
  namespace: string;
  name: string;
  /**
   * The backend version (or event id) that caused the change. Used for SecretProviderClasses:
   * the CSI driver's pod status still names the mounted (old) version until pods remount, so
   * the restart is keyed on the new backend version instead.
   */
  backendVersion?: string;
}
