/**
 * A tiny declarative checker for the YAML data files (templates, workflows, policies): every field known,
 * every type right, errors that name the file, the line and the field path.
 */
import { quoteBounded } from '../util/strict-json.js';
import { isMap, isSeq, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { CustodyError } from '../errors.js';
import { checkYAMLLimits } from './yaml-scan.js';
import { YAML_LIMITS, type YAMLLimits } from './yaml-limits.js';

export type FieldSpec =
  | { type: 'string'; enum?: readonly string[]; pattern?: RegExp; required?: boolean; hint?: string }
  | { type: 'integer'; min?: number; max?: number; required?: boolean }
  | { type: 'boolean'; required?: boolean }
  | { type: 'list'; of: FieldSpec; required?: boolean; minItems?: number }
  | { type: 'object'; fields: Readonly<Record<string, FieldSpec>>; required?: boolean }
  | { type: 'map'; keys?: readonly string[]; values: FieldSpec; required?: boolean };

/** A parsed YAML document that can still say where each field came from. */
export interface LocatedDocument {
  value: unknown;
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}

/** Longest part of a `yaml` library message repeated in ours. */
const MESSAGE_MAX = 160;

/**
 * Parses YAML text; syntax errors become `code` errors naming file and line. The text is first held to
 * `limits` (`checkYAMLLimits`: size, blank runs, nesting, tokens, no alias). Keys are then checked by one walk with a Set
 * per mapping, not by the library's `uniqueKeys` (which compares each key with every earlier one: 40,000 keys
 * took 10 s). Two keys that become the same JavaScript property (`1` and `"1"`), a key that is a mapping or a
 * list, and the key `__proto__` are refused as well.
 * @throws `code` (bad input) `<file>:<line>: <problem>` for text over a limit, an alias, a syntax error or such
 *   a key
 */
export function parseLocatedYAML(text: string, fileName: string, code: string, limits: YAMLLimits = YAML_LIMITS): LocatedDocument {
  if (typeof text !== 'string') throw new TypeError('parseLocatedYAML: text must be a string');
  checkYAMLLimits(text, fileName, code, limits);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new CustodyError(code, `${fileName}:${line}: ${boundedMessage(e.message)}`, { file: fileName, category: 'input' });
  }
  checkKeys(doc.contents, (node, problem) => {
    const pos = node.range?.[0];
    const where = pos === undefined ? fileName : `${fileName}:${lineCounter.linePos(pos).line}`;
    throw new CustodyError(code, `${where}: ${problem}`, { file: fileName, category: 'input' });
  });
  return {
    value: doc.toJS({ maxAliasCount: 0 }) as unknown,
    lineOf(path) {
      let node: unknown = doc.contents;
      let last: Node | undefined = doc.contents ?? undefined;
      for (const key of path) {
        if (isMap(node)) {
          const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
          if (!pair) break;
          last = (pair.key as Node) ?? last;
          node = pair.value;
        } else if (isSeq(node) && typeof key === 'number') {
          node = node.items[key];
          if (node) last = node as Node;
        } else break;
      }
      const pos = last?.range?.[0];
      return pos === undefined ? undefined : lineCounter.linePos(pos).line;
    },
  };
}

/** The first line of a library message, without control characters, cut short: it may quote the text. */
function boundedMessage(message: string): string {
  // eslint-disable-next-line no-control-regex
  const m = (message.split('\n')[0] ?? '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ');
  return m.length > MESSAGE_MAX ? `${m.slice(0, MESSAGE_MAX)}...` : m;
}

/**
 * Every mapping's keys are plain values, distinct as JavaScript property names, and not `__proto__`. Iterative:
 * the nesting is bounded, but a walk that cannot overflow the stack needs no argument about by how much.
 */
function checkKeys(root: unknown, fail: (node: Node, problem: string) => never): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (isMap(node)) {
      const names = new Set<string>();
      for (const pair of node.items) {
        const key = pair.key;
        if (!isScalar(key)) {
          if (key !== null && typeof key === 'object') return fail(key as Node, 'a key must be a plain value, not a mapping or a list');
          return fail(node, 'a key must be a plain value');
        }
        const name = key.value === null || key.value === undefined ? '' : String(key.value);
        if (name === '__proto__') return fail(key, 'the key "__proto__" is not allowed');
        if (names.has(name)) return fail(key, `duplicate key ${quoteBounded(name)}`);
        names.add(name);
        stack.push(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) stack.push(item);
    }
  }
}

function where(doc: LocatedDocument, fileName: string, path: ReadonlyArray<string | number>): string {
  const line = doc.lineOf(path);
  return line === undefined ? fileName : `${fileName}:${line}`;
}

function fieldName(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('') || '(document)';
}

/** Checks `doc.value` against `spec`; throws `code` naming file, line and field on the first problem. */
export function checkFields(doc: LocatedDocument, spec: FieldSpec, fileName: string, code: string): void {
  const fail = (path: ReadonlyArray<string | number>, problem: string): never => {
    throw new CustodyError(code, `${where(doc, fileName, path)}: ${fieldName(path)}: ${problem}`, { file: fileName });
  };
  const visit = (value: unknown, s: FieldSpec, path: Array<string | number>): void => {
    switch (s.type) {
      case 'string':
        if (typeof value !== 'string') return fail(path, `expected a string, found ${describe(value)}`);
        if (s.enum && !s.enum.includes(value)) return fail(path, `${quoteBounded(value)} is not one of ${s.enum.join(', ')}`);
        if (s.pattern && !s.pattern.test(value)) return fail(path, `${quoteBounded(value)} is not ${s.hint ?? `of the form ${s.pattern}`}`);
        return;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) return fail(path, `expected an integer, found ${describe(value)}`);
        if (s.min !== undefined && value < s.min) return fail(path, `must be at least ${s.min}`);
        if (s.max !== undefined && value > s.max) return fail(path, `must be at most ${s.max}`);
        return;
      case 'boolean':
        if (typeof value !== 'boolean') return fail(path, `expected true or false, found ${describe(value)}`);
        return;
      case 'list':
        if (!Array.isArray(value)) return fail(path, `expected a list, found ${describe(value)}`);
        if (s.minItems !== undefined && value.length < s.minItems) return fail(path, `needs at least ${s.minItems} item(s)`);
        value.forEach((v, i) => visit(v, s.of, [...path, i]));
        return;
      case 'object': {
        if (!isPlainObject(value)) return fail(path, `expected a mapping, found ${describe(value)}`);
        for (const key of Object.keys(value)) if (!(key in s.fields)) fail([...path, key], 'unknown field');
        for (const [key, fs] of Object.entries(s.fields)) {
          if (value[key] === undefined) {
            if (fs.required) fail(path, `missing required field "${key}"`);
          } else visit(value[key], fs, [...path, key]);
        }
        return;
      }
      case 'map':
        if (!isPlainObject(value)) return fail(path, `expected a mapping, found ${describe(value)}`);
        for (const [key, v] of Object.entries(value)) {
          if (s.keys && !s.keys.includes(key)) fail([...path, key], `unknown field (expected one of ${s.keys.join(', ')})`);
          visit(v, s.values, [...path, key]);
        }
        return;
    }
  };
  visit(doc.value, spec, []);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? `string ${quoteBounded(v)}` : `${typeof v} ${String(v)}`;
}
