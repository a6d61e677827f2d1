import type { PipelinePorts } from '../pipeline.js';
import type { SecretRef } from '../secret-ref.js';
import type { FinishRollout, RotateOptions, RotationResult } from './gate.js';

/**
 * The pipeline's rotate port over the rotation engine. The event's version is the one
 * rotation expects to replace: an event about an older version rotates nothing.
 */
export function rotationPort(engine: {
  rotate(ref: SecretRef, options: RotateOptions): Promise<RotationResult | FinishRollout>;
}): PipelinePorts['rotate'] {
  return async (ref, { reason, expectedVersion }) => {
    const r = await engine.rotate(ref, {
      reason,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    if (r.status !== 'skipped')
      return r.status === 'rotated' ? { status: 'rotated', newVersion: r.newVersion } : r;
    return { status: 'skipped', reason: r.detail ? `${r.reason}: ${r.detail}` : r.reason };
  };
}
