import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { KubeObject } from '../../../../lib/kube/api/objects.js';

/** A manifest from test/fixtures/operators, parsed; tests adjust the copy they get. */
export function fixture(name: string): KubeObject {
  const url = new URL(`../../../fixtures/operators/${name}`, import.meta.url);
  return parse(readFileSync(url, 'utf8')) as KubeObject;
}
