/**
 * What the test environment hands to tests: addresses and credentials of the real
 * servers it started, as plain JSON (it crosses from vitest's globalSetup to workers).
 * Tests obtain it with `testEnv()` from `test/env/index.ts`.
 */
export interface KubeClusterDescriptor {
  name: string;
  server: string;
  caPem: string;
  /** kubeconfig YAML for the cluster-admin identity (test setup only). */
  adminKubeconfig: string;
  /** kubeconfig YAML for the restricted `rotor` identity bound to infra/k8s RBAC. */
  rotorKubeconfig: string;
}

export interface EnvDescriptor {
  clusters: KubeClusterDescriptor[];
  openbao: {
    /** e.g. http://127.0.0.1:8200 */
    address: string;
    rootToken: string;
    /** KV v2 mount path ("secret"). */
    kvMount: string;
    /**
     * The http audit device posts every entry to a relay run by the environment;
     * POST {url} here to have entries forwarded to your endpoint, DELETE to stop.
     */
    auditRelayUrl: string;
    /** The audit device sends `Authorization: Bearer <this>`; give it to rotor's webhook config. */
    auditBearerToken: string;
  };
  /**
   * The Azure Key Vault endpoint. Named after Lowkey Vault, which was planned; the
   * environment serves a Key Vault stand-in instead (test/env/keyvault-standin.ts:
   * Lowkey's app jar is not obtainable from the registries reachable here).
   * Build clients with `keyVaultClientForTest` (test/env/keyvault-client.ts).
   */
  lowkey: {
    /** Base URL of the vault, e.g. https://127.0.0.1:8443 */
    vaultUrl: string;
    /** Name rotor uses for it in config (the host part before the first dot, or configured). */
    vaultName: string;
    /** PEM of the certificate to trust for this endpoint. */
    caPem: string;
  };
  azurite: { tableConnectionString: string; tableUrl: string };
  postgres: { host: string; port: number; user: string; password: string; database: string };
  /**
   * The real External Secrets Operator controller runs in every cluster (test/env/eso.ts)
   * when present. It reconciles every namespace; stores meant for the ESO stand-in (Key
   * Vault) set `spec.controller: standinControllerClass`, which it skips. ClusterExternalSecrets
   * are served by ESO's own reconciler except in `standinCesCluster`, where the ESO stand-in
   * serves them as ESO 2.x does.
   */
  eso?: {
    version: string;
    controllerClass: string;
    standinControllerClass: string;
    standinCesCluster?: string;
  };
}
