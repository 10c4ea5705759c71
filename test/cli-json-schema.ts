/** The JSON Schemas of docs/schemas/ compiled once, and an assertion that a command's --json output fits its own. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export const SCHEMAS = fileURLToPath(new URL('../docs/schemas/', import.meta.url));

const ajv = new Ajv2020({ allErrors: true, strict: true });
for (const f of readdirSync(SCHEMAS).filter((f) => f.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')));

/** The schema file of a command: `devices verify` -> devices-verify.schema.json. */
export const schemaFile = (command: string) => `${command.replaceAll(' ', '-')}.schema.json`;

function validator(command: string): ValidateFunction {
  const v = ajv.getSchema(`https://custody.example/schemas/${schemaFile(command)}`);
  assert.ok(v, `no schema for "${command}" in docs/schemas/`);
  return v;
}

/** Parses `stdout` as one envelope of `command` and checks it against the command's schema and the generic one. */
export function assertEnvelope(
  command: string,
  stdout: string,
): { ok: boolean; command: string; data?: any; error?: { code: string; message: string; exit: number } } {
  let e: any;
  assert.doesNotThrow(() => (e = JSON.parse(stdout)), `stdout of ${command} --json is one JSON document: ${stdout.slice(0, 300)}`);
  for (const v of [validator(command), ajv.getSchema('https://custody.example/schemas/envelope.schema.json')!]) {
    assert.ok(v(e), `${command} --json does not fit ${schemaFile(command)}: ${ajv.errorsText(v.errors)}\n${stdout.slice(0, 600)}`);
  }
  return e;
}

/**
 * The data conventions: PEM only in `*Pem` fields, and `file`/`*File` fields are paths, never PEM; returns the
 * offending paths.
 */
export function conventionBreaks(value: unknown, path = 'data'): string[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => conventionBreaks(v, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const isPem = (x: unknown) => typeof x === 'string' && x.startsWith('-----BEGIN');
    const values = Array.isArray(v) ? v : [v];
    if (!/Pem$/.test(k) && values.some(isPem)) out.push(`${path}.${k} holds PEM`);
    if (/^file$|File$/.test(k) && values.some(isPem)) out.push(`${path}.${k} holds PEM, not a path`);
    if (/Pem$/.test(k) && values.some((x) => !isPem(x))) out.push(`${path}.${k} holds no PEM`);
    out.push(...conventionBreaks(v, `${path}.${k}`));
  }
  return out;
}
