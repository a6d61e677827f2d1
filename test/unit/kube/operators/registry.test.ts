import { describe, expect, it } from 'vitest';
import { OPERATORS, operatorById } from '../../../../lib/kube/operators/registry.js';

describe('operator registry', () => {
  it('holds ESO, VSO and CSI once each, looked up by id', () => {
    expect(OPERATORS.map((o) => o.id)).toEqual(['eso', 'vso', 'csi']);
    expect(operatorById('vso').id).toBe('vso');
  });

  it('names an unregistered operator', () => {
    expect(() => operatorById('csi', [])).toThrow('no operator "csi" is registered');
  });
});
