/**
 * Code policies: which end-user code a device accepts, in the style of Notation trust policies. A policy names
 * the owner's code-signing identities (a CA that issues code signers, or one pinned signer certificate) and
 * scopes: artifact types and path patterns, the identities that may sign them, and a level (`enforce` refuses
 * what fails, `audit` reports it and allows). docs/code-validation.md documents the format; examples are in
 * `workflows/code-policies/`.
 */
import { quoteBounded } from '../util/strict-json.js';
import { FieldReader, type FieldPath } from '../workflow/yaml-reader.js';
import { pathPatternProblem } from './path-pattern.js';

/** Kinds of end-user code a signature names (`custody code sign --type`). */
export const CODE_ARTIFACT_TYPES = ['script', 'app', 'config'] as const;
export type CodeArtifactType = (typeof CODE_ARTIFACT_TYPES)[number];

/** `enforce`: refuse what fails; `audit`: report it and allow. */
export const CODE_LEVELS = ['enforce', 'audit'] as const;
export type CodeLevel = (typeof CODE_LEVELS)[number];

/**
 * A code-signing identity as a policy file names it: a CA of the activating store by name (`ca`), or a
 * certificate by its SHA-256, either a CA (`caSha256`) or one pinned signer (`pinnedSha256`).
 */
export interface CodeIdentityRef {
  readonly name: string;
  readonly kind: 'ca' | 'pinned';
  /** The activating store's CA of this name (kind `ca` only). */
  readonly storeCA?: string;
  /** Hex SHA-256 of the certificate's DER. */
  readonly sha256?: string;
}

/** One scope: what it covers, who may sign it, and what a failure does. */
export interface CodeScope {
  readonly name: string;
  readonly types: readonly CodeArtifactType[];
  readonly paths: readonly string[];
  readonly level: CodeLevel;
  /** Names of identities of the policy. */
  readonly signers: readonly string[];
}

/** A parsed, validated code policy file. */
export interface CodePolicy {
  readonly name: string;
  readonly version: number;
  readonly description?: string;
  readonly identities: readonly CodeIdentityRef[];
  readonly scopes: readonly CodeScope[];
}

/** Bounds of a policy: what a device stores and searches on every check. */
export const CODE_POLICY_LIMITS = { maxIdentities: 16, maxScopes: 64, maxPathsPerScope: 32 } as const;

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_HINT = 'a lower-case name of letters, digits, ".", "_" and "-"';
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses and validates a code policy file. `fileName` only names the file in messages.
 * @throws ERR_CODE_POLICY_INVALID `<file>:<line>: <field>: <problem>` for a YAML syntax error, an unknown field, a
 *   wrong type, a bad path pattern, an identity named twice or a scope signer that names no identity (exit 3)
 */
export function parseCodePolicy(text: string, fileName: string): CodePolicy {
  const r = FieldReader.parse(text, fileName, 'ERR_CODE_POLICY_INVALID');
  const top = r.object(r.root, [], ['name', 'version', 'description', 'identities', 'scopes'], ['name', 'version', 'identities', 'scopes']);
  const name = r.string(top['name'], ['name'], { pattern: NAME, hint: NAME_HINT });
  const version = r.integer(top['version'], ['version'], 1, 1);
  const description = r.optional(top, 'description', [], (v, p) => r.string(v, p));
  const identities = r.list(top['identities'], ['identities'], 1).map((x, i) => readIdentity(r, x, ['identities', i]));
  if (identities.length > CODE_POLICY_LIMITS.maxIdentities) r.fail(['identities'], `at most ${CODE_POLICY_LIMITS.maxIdentities} identities`);
  const names = new Set<string>();
  identities.forEach((id, i) => {
    if (names.has(id.name)) r.fail(['identities', i, 'name'], `${quoteBounded(id.name)} is already an identity above`);
    names.add(id.name);
  });
  const scopes = r.list(top['scopes'], ['scopes'], 1).map((x, i) => readScope(r, x, ['scopes', i], names));
  if (scopes.length > CODE_POLICY_LIMITS.maxScopes) r.fail(['scopes'], `at most ${CODE_POLICY_LIMITS.maxScopes} scopes`);
  const scopeNames = new Set<string>();
  scopes.forEach((s, i) => {
    if (scopeNames.has(s.name)) r.fail(['scopes', i, 'name'], `${quoteBounded(s.name)} is already a scope above`);
    scopeNames.add(s.name);
  });
  const policy: CodePolicy = { name, version, identities, scopes };
  return description === undefined ? policy : { ...policy, description };
}

function readIdentity(r: FieldReader, x: unknown, p: FieldPath): CodeIdentityRef {
  const o = r.object(x, p, ['name', 'ca', 'caSha256', 'pinnedSha256'], ['name']);
  const name = r.string(o['name'], [...p, 'name'], { pattern: NAME, hint: NAME_HINT });
  const given = ['ca', 'caSha256', 'pinnedSha256'].filter((k) => o[k] !== undefined && o[k] !== null);
  if (given.length !== 1) r.fail(p, 'give exactly one of ca (a CA of the activating store), caSha256 or pinnedSha256');
  const hex = (k: string) =>
    typeof o[k] === 'number'
      ? r.fail([...p, k], 'YAML read this SHA-256 as a number: quote it ("...")')
      : r.string(o[k], [...p, k], { pattern: HEX64, hint: 'a SHA-256 of the certificate, 64 lower-case hex digits' });
  if (given[0] === 'ca') return { name, kind: 'ca', storeCA: r.string(o['ca'], [...p, 'ca']) };
  if (given[0] === 'caSha256') return { name, kind: 'ca', sha256: hex('caSha256') };
  return { name, kind: 'pinned', sha256: hex('pinnedSha256') };
}

function readScope(r: FieldReader, x: unknown, p: FieldPath, identities: ReadonlySet<string>): CodeScope {
  const o = r.object(x, p, ['name', 'types', 'paths', 'level', 'signers'], ['name', 'types', 'paths', 'level', 'signers']);
  const name = r.string(o['name'], [...p, 'name'], { pattern: NAME, hint: NAME_HINT });
  const types = unique(
    r,
    r.list(o['types'], [...p, 'types'], 1).map((t, i) => r.string(t, [...p, 'types', i], { choices: CODE_ARTIFACT_TYPES }) as CodeArtifactType),
    [...p, 'types'],
  );
  const pathList = r.list(o['paths'], [...p, 'paths'], 1);
  if (pathList.length > CODE_POLICY_LIMITS.maxPathsPerScope) r.fail([...p, 'paths'], `at most ${CODE_POLICY_LIMITS.maxPathsPerScope} patterns`);
  const paths = unique(
    r,
    pathList.map((t, i) => {
      const text = r.string(t, [...p, 'paths', i]);
      const problem = pathPatternProblem(text);
      return problem ? r.fail([...p, 'paths', i], `${quoteBounded(text)} ${problem}`) : text;
    }),
    [...p, 'paths'],
  );
  const level = r.string(o['level'], [...p, 'level'], { choices: CODE_LEVELS }) as CodeLevel;
  const signers = unique(
    r,
    r.list(o['signers'], [...p, 'signers'], 1).map((s, i) => {
      const id = r.string(s, [...p, 'signers', i]);
      return identities.has(id) ? id : r.fail([...p, 'signers', i], `${quoteBounded(id)} is not an identity of this policy`);
    }),
    [...p, 'signers'],
  );
  return { name, types, paths, level, signers };
}

function unique<T>(r: FieldReader, list: T[], p: FieldPath): T[] {
  list.forEach((v, i) => {
    if (list.indexOf(v) !== i) r.fail([...p, i], `${quoteBounded(String(v))} is listed twice`);
  });
  return list;
}
