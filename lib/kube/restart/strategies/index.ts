import type { Clock } from '../../../clock.js';
import type { ReloadTarget, TemplatePatch, TemplateView } from '../target.js';
import { annotationsPatch } from './annotations.js';
import { envVarsPatch } from './env-vars.js';

export type StrategyName = 'env-vars' | 'annotations';

export type Strategy = (
  template: TemplateView,
  targets: readonly ReloadTarget[],
) => { patch: TemplatePatch; written: ReloadTarget[] } | null;

export function strategyFor(name: StrategyName, clock: Clock): Strategy {
  return name === 'annotations'
    ? (template, targets) => annotationsPatch(template, targets, clock)
    : envVarsPatch;
}
