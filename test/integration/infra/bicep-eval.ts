/**
 * Evaluates the deploy-time part of a Bicep file (parameters and variables) from the
 * pycep-parser model, with ARM's semantics for the functions it meets. No Bicep compiler
 * runs here (none can be installed offline), so this is how a test sees what a variable such
 * as `rotorSettings` becomes for a given parameter file. It covers the functions and
 * operators infra/main.bicep's configuration variables use and throws on anything else, so a
 * new construct fails loudly instead of evaluating wrongly.
 *
 * pycep writes identifiers and string literals alike as JSON strings: a string naming a
 * parameter, variable or loop variable in scope is that value, any other string a literal.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BicepModel } from './bicep-tools.js';

type Value = unknown;
type Scope = ReadonlyMap<string, Value>;

/** ARM's environment() of the public cloud, as far as the templates read it. */
const ENVIRONMENT = { suffixes: { keyvaultDns: '.vault.azure.net', storage: 'core.windows.net' } };

export class BicepEvaluator {
  private readonly vars = new Map<string, Value>();
  private readonly evaluating = new Set<string>();

  constructor(
    private readonly model: BicepModel,
    private readonly params: Readonly<Record<string, Value>>,
  ) {}

  /** A variable's value (evaluated once). */
  variable(name: string): Value {
    if (this.vars.has(name)) return this.vars.get(name);
    const declared = this.model.variables[name];
    if (!declared) throw new Error(`no variable ${name}`);
    if (this.evaluating.has(name)) throw new Error(`variable ${name} refers to itself`);
    this.evaluating.add(name);
    const value = this.eval(declared.value, new Map());
    this.evaluating.delete(name);
    this.vars.set(name, value);
    return value;
  }

  private param(name: string): Value {
    if (name in this.params) return this.params[name];
    const declared = this.model.parameters[name];
    if (declared?.default === undefined || declared.default === null)
      throw new Error(`parameter ${name} has no value and no default`);
    return this.eval(declared.default, new Map());
  }

  private lookup(name: string, scope: Scope): { found: boolean; value?: Value } {
    if (scope.has(name)) return { found: true, value: scope.get(name) };
    if (name in this.model.variables) return { found: true, value: this.variable(name) };
    if (name in this.model.parameters) return { found: true, value: this.param(name) };
    return { found: false };
  }

  private eval(node: unknown, scope: Scope): Value {
    if (node === null || typeof node === 'number' || typeof node === 'boolean') return node;
    if (typeof node === 'string') {
      const named = this.lookup(node, scope);
      return named.found ? named.value : this.interpolate(node, scope);
    }
    if (Array.isArray(node)) return node.map((n) => this.eval(n, scope));
    const obj = node as Record<string, unknown>;
    if ('loop_type' in obj) return this.loop(obj, scope);
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === 'function') return this.call(obj.function as Fn, scope);
    if (keys.length === 1 && keys[0] === 'operator') return this.operate(obj.operator as Op, scope);
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, this.eval(v, scope)]));
  }

  private loop(node: Record<string, unknown>, scope: Scope): Value[] {
    const loop = node.loop_type as {
      type: 'array' | 'array_index';
      detail: { item_name: string; index_name?: string; array_name: unknown };
    };
    if (loop.type !== 'array' && loop.type !== 'array_index')
      throw new Error(`loop ${loop.type} is not evaluated`);
    const items = this.eval(loop.detail.array_name, scope);
    if (!Array.isArray(items)) throw new Error('a for-expression over something that is not an array');
    const out: Value[] = [];
    items.forEach((item, i) => {
      const inner = new Map(scope);
      inner.set(loop.detail.item_name, item);
      if (loop.detail.index_name) inner.set(loop.detail.index_name, i);
      if (node.condition !== null && node.condition !== undefined && !this.eval(node.condition, inner))
        return;
      out.push(this.eval(node.config, inner));
    });
    return out;
  }

  private call(fn: Fn, scope: Scope): Value {
    const args = Object.values(fn.parameters ?? {}).map((a) => this.eval(a, scope));
    const [a, b] = args;
    switch (fn.type) {
      case 'json':
        return JSON.parse(String(a));
      case 'string':
        return typeof a === 'string' ? a : JSON.stringify(a);
      case 'empty':
        return isEmpty(a);
      case 'starts_with':
        return String(a).toLowerCase().startsWith(String(b).toLowerCase());
      case 'concat':
        return Array.isArray(a) ? args.flatMap((x) => x as Value[]) : args.map(String).join('');
      case 'flatten':
        return (a as Value[][]).flat();
      case 'contains':
        return contains(a, b);
      case 'index_of':
        if (!Array.isArray(a)) return String(a).indexOf(String(b));
        return a.findIndex((x) => isDeepStrictEqual(x, b));
      case 'max':
        return Math.max(...(args as number[]));
      case 'union':
        return args.reduce((acc, x) => union(acc, x));
      case 'environment':
        return ENVIRONMENT;
      default:
        throw new Error(`function ${fn.type} is not evaluated`);
    }
  }

  private operate(op: Op, scope: Scope): Value {
    const o = op.operands;
    switch (op.type) {
      case 'conditional':
        // ARM evaluates only the branch taken, which is what lets a template guard an access.
        return this.eval(o.condition, scope)
          ? this.eval(o.true_value, scope)
          : this.eval(o.false_value, scope);
      case 'or':
        return Boolean(this.eval(o.operand_1, scope)) || Boolean(this.eval(o.operand_2, scope));
      case 'and':
        return Boolean(this.eval(o.operand_1, scope)) && Boolean(this.eval(o.operand_2, scope));
      case 'not':
        return !this.eval(o.bool_value, scope);
      case 'equals':
        return isDeepStrictEqual(this.eval(o.operand_1, scope), this.eval(o.operand_2, scope));
      case 'property_accessor':
        return property(this.eval(o.operand_1, scope), String(o.operand_2));
      case 'index_accessor': {
        const target = this.eval(o.operand_1, scope);
        const index = this.eval(o.operand_2, scope);
        if (Array.isArray(target)) {
          if (typeof index !== 'number' || index < 0 || index >= target.length)
            throw new Error(`index ${String(index)} is out of range (${target.length} items)`);
          return target[index];
        }
        return property(target, String(index));
      }
      default:
        throw new Error(`operator ${op.type} is not evaluated`);
    }
  }

  /** `'https://${kv.name}${environment().suffixes.keyvaultDns}'`: dotted paths, optionally from a call. */
  private interpolate(text: string, scope: Scope): string {
    return text.replace(/\$\{([^}]*)\}/g, (_m, expr: string) => {
      const [head = '', ...path] = expr.trim().split('.');
      const call = /^(\w+)\(\)$/.exec(head);
      let value: Value = call ? this.call({ type: call[1] as string }, scope) : this.eval(head, scope);
      for (const key of path) value = property(value, key);
      return typeof value === 'string' ? value : JSON.stringify(value);
    });
  }
}

interface Fn {
  type: string;
  parameters?: Record<string, unknown>;
}
interface Op {
  type: string;
  operands: Record<string, unknown>;
}

function isObject(v: Value): v is Record<string, Value> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmpty(v: Value): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObject(v) && Object.keys(v).length === 0;
}

/** ARM: object keys case-insensitively, array items by value, substrings case-sensitively. */
function contains(container: Value, item: Value): boolean {
  if (Array.isArray(container)) return container.some((x) => isDeepStrictEqual(x, item));
  if (isObject(container))
    return Object.keys(container).some((k) => k.toLowerCase() === String(item).toLowerCase());
  return String(container).includes(String(item));
}

/** ARM: a missing property is an error (the deployment fails), not null. */
function property(target: Value, key: string): Value {
  if (!isObject(target)) throw new Error(`.${key} of something that is not an object`);
  const found = Object.keys(target).find((k) => k.toLowerCase() === key.toLowerCase());
  if (found === undefined) throw new Error(`the object has no property ${key}`);
  return target[found];
}

/** ARM's union: objects merge recursively, the last value of a key wins; arrays keep distinct items. */
function union(a: Value, b: Value): Value {
  if (Array.isArray(a) && Array.isArray(b))
    return [...a, ...b].filter((x, i, all) => all.findIndex((y) => isDeepStrictEqual(x, y)) === i);
  if (!isObject(a) || !isObject(b))
    throw new Error('union of values that are neither two objects nor two arrays');
  const out: Record<string, Value> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(out[k]) && isObject(v) ? union(out[k], v) : v;
  return out;
}
