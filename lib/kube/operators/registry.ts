import { InternalError } from '../../errors.js';
import { csiOperator } from './csi.js';
import { esoOperator } from './eso.js';
import type { Operator, OperatorId } from './operator.js';
import { vsoOperator } from './vso.js';

/** Every operator rotor knows; adding one is adding it here, callers never branch on ids. */
export const OPERATORS: readonly Operator[] = [esoOperator, vsoOperator, csiOperator];

export function operatorById(id: OperatorId, operators: readonly Operator[] = OPERATORS): Operator {
  const found = operators.find((o) => o.id === id);
  if (!found) throw new InternalError(`no operator "${id}" is registered`);
  return found;
}
