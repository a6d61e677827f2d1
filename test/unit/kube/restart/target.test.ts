import { describe, expect, it } from 'vitest';
import { applyTemplatePatch, type TemplateView } from '../../../../lib/kube/restart/target.js';

describe('applyTemplatePatch (strategic merge for the fields a restart touches)', () => {
  const base: TemplateView = {
    metadata: { annotations: { keep: 'me' }, labels: { app: 'web' } },
    spec: {
      containers: [
        {
          name: 'app',
          env: [
            { name: 'A', value: '1' },
            { name: 'STAKATER_DB_SECRET', value: 'old' },
          ],
        },
        { name: 'side' },
      ],
    },
  };

  it('merges env by name, replaces an existing value and appends a new variable, leaving the input untouched', () => {
    const next = applyTemplatePatch(base, {
      spec: {
        containers: [
          { name: 'app', env: [{ name: 'STAKATER_DB_SECRET', value: 'new' }] },
          { name: 'side', env: [{ name: 'STAKATER_CFG_CONFIGMAP', value: 'c' }] },
        ],
      },
    });
    expect(next.spec?.containers?.[0]?.env).toEqual([
      { name: 'A', value: '1' },
      { name: 'STAKATER_DB_SECRET', value: 'new' },
    ]);
    expect(next.spec?.containers?.[1]?.env).toEqual([{ name: 'STAKATER_CFG_CONFIGMAP', value: 'c' }]);
    expect(base.spec?.containers?.[0]?.env?.[1]?.value).toBe('old');
  });

  it('merges annotations by key', () => {
    const next = applyTemplatePatch(base, { metadata: { annotations: { added: 'x' } } });
    expect(next.metadata?.annotations).toEqual({ keep: 'me', added: 'x' });
    expect(next.metadata?.labels).toEqual({ app: 'web' });
  });
});
