import type { PipelinePorts } from '../pipeline.js';
import type { RotationEngine } from './engine.js';

/**
 * The pipeline's rotate port over the rotation engine. The event's version is the one
 * rotation expects to replace: an event about an older version rotates nothing.
 */
export function rotationPort(engine: Pick<RotationEngine, 'rotate'>): PipelinePorts['rotate'] {
  return async (ref, { reason, expectedVersion }) => {
    const r = await engine.rotate(ref, {
      reason,
      ...(expectedVersion === undefined ? {} : { expectedVersion }),
    });
    return r.status === 'rotated'
      ? { status: 'rotated', newVersion: r.newVersion }
      : { status: 'skipped', reason: r.detail ? `${r.reason}: ${r.detail}` : r.reason };
  };
}
