/**
 * A tiny declarative checker for the YAML data files (templates, workflows, policies): every field known,
 * every type right, errors that name the file, the line and the field path.
 */
import { isMap, isSeq, isScalar, LineCounter, parseDocument, type Node } from 'yaml';
import { CustodyError } from '../errors.js';

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

/** Parses YAML text; syntax errors become `code` errors naming file and line. */
export function parseLocatedYAML(text: string, fileName: string, code: string): LocatedDocument {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? lineCounter.linePos(e.pos[0]).line;
    throw new CustodyError(code, `${fileName}:${line}: ${e.message.split('\n')[0]}`, { file: fileName });
  }
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
        if (s.enum && !s.enum.includes(value)) return fail(path, `"${value}" is not one of ${s.enum.join(', ')}`);
        if (s.pattern && !s.pattern.test(value)) return fail(path, `"${value}" is not ${s.hint ?? `of the form ${s.pattern}`}`);
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
  return `${typeof v} ${JSON.stringify(v)}`;
}
