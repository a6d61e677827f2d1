/**
 * A Kubernetes object whose content changed and whose consumers may need a restart: what
 * the sync operators write (ESO's and VSO's target Secrets) or what the CSI driver mounts.
 * No operator writes ConfigMaps, so rotor never reads one (and holds no verb on them).
 */
export interface ChangedResource {
  cluster: string;
  kind: 'Secret' | 'SecretProviderClass';
  namespace: string;
  name: string;
  /**
   * The backend version (or event id) that caused the change. Used for SecretProviderClasses:
   * the CSI driver's pod status still names the mounted (old) version until pods remount, so
   * the restart is keyed on the new backend version instead.
   */
  backendVersion?: string;
  /**
   * performance.now() when the operator was seen to have finished writing the resource: a
   * read started after it holds the change (the refresh's own read is reused by the restart).
   */
  syncedAt?: number;
}
