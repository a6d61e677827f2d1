import { envVarName } from '../env-var-name.js';
import { type ReloadTarget, sortTargets, type TemplatePatch, type TemplateView } from '../target.js';

/**
 * Reloader's default strategy: `STAKATER_<NAME>_<TYPE>=<hash>` on the chosen container.
 * A target whose variable already holds the hash needs nothing, which is what lets
 * rotor and an installed Reloader converge on one rollout. Null: nothing to write.
 */
export function envVarsPatch(
  template: TemplateView,
  targets: readonly ReloadTarget[],
): { patch: TemplatePatch; written: ReloadTarget[] } | null {
  const byContainer = new Map<string, Array<{ name: string; value: string }>>();
  const written: ReloadTarget[] = [];
  for (const t of sortTargets(targets)) {
    const name = envVarName(t.type, t.name);
    if (currentValue(template, t.container, name) === t.hash) continue;
    const env = byContainer.get(t.container) ?? [];
    env.push({ name, value: t.hash });
    byContainer.set(t.container, env);
    written.push(t);
  }
  if (written.length === 0) return null;
  const containers = [...byContainer].map(([name, env]) => ({ name, env }));
  return { patch: { spec: { containers } }, written };
}

function currentValue(template: TemplateView, container: string, variable: string): string | undefined {
  const c = (template.spec?.containers ?? []).find((x) => x.name === container);
  return c?.env?.find((e) => e.name === variable)?.value;
}
