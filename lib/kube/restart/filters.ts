import type { RestartConfig } from '../../config.js';
import { kubeError } from '../api/errors.js';
import type { ClusterClient } from '../cluster.js';
import { type LabelSelector, parseLabelSelector } from './label-selector.js';

/**
 * Reloader's scope options, applied to a changed resource before any workload is looked
 * at: namespaces to ignore, a namespace label selector and a resource label selector.
 * Namespace labels are cached briefly: one read per namespace per burst, not per event.
 */
const NAMESPACE_TTL_MS = 30_000;

export class ScopeFilter {
  private readonly namespaceSelector?: LabelSelector;
  private readonly resourceSelector?: LabelSelector;
  private readonly namespaces = new Map<string, { at: number; labels: Promise<Record<string, string>> }>();

  constructor(
    private readonly client: ClusterClient,
    private readonly options: Pick<
      RestartConfig,
      'namespaceSelector' | 'namespacesToIgnore' | 'resourceLabelSelector'
    >,
  ) {
    if (options.namespaceSelector.trim())
      this.namespaceSelector = parseLabelSelector(options.namespaceSelector);
    if (options.resourceLabelSelector.trim())
      this.resourceSelector = parseLabelSelector(options.resourceLabelSelector);
  }

  /** Why changes in this namespace are out of scope, or undefined. */
  async namespaceReason(namespace: string): Promise<string | undefined> {
    if (this.options.namespacesToIgnore.includes(namespace)) {
      return `namespace ${namespace} is ignored (namespacesToIgnore)`;
    }
    if (!this.namespaceSelector) return undefined;
    const labels = await this.namespaceLabels(namespace);
    return this.namespaceSelector(labels)
      ? undefined
      : `namespace ${namespace} does not match namespaceSelector "${this.options.namespaceSelector}"`;
  }

  /** Secrets and ConfigMaps only, as Reloader's --resource-label-selector. */
  resourceReason(kind: string, name: string, labels: Record<string, string>): string | undefined {
    if (!this.resourceSelector || kind === 'SecretProviderClass') return undefined;
    return this.resourceSelector(labels)
      ? undefined
      : `${kind} ${name} does not match resourceLabelSelector "${this.options.resourceLabelSelector}"`;
  }

  private namespaceLabels(namespace: string): Promise<Record<string, string>> {
    const cached = this.namespaces.get(namespace);
    if (cached && performance.now() - cached.at < NAMESPACE_TTL_MS) return cached.labels;
    const labels = this.client.core.readNamespace({ name: namespace }).then(
      (ns) => ns.metadata?.labels ?? {},
      (error: unknown) => {
        this.namespaces.delete(namespace);
        throw kubeError(error, `read namespace ${namespace}`);
      },
    );
    this.namespaces.set(namespace, { at: performance.now(), labels });
    return labels;
  }
}
