/**
 * A TUF repository's metadata (The Update Framework specification 1.0, sections 4.3 to 4.6): root, targets,
 * snapshot and timestamp, each `{"signed": ..., "signatures": [...]}` signed over the canonical JSON of `signed`
 * by its role's key. custody's keys are ECDSA P-256 (`keytype` "ecdsa", scheme "ecdsa-sha2-nistp256", the public
 * key as SPKI PEM, signatures DER in hex). Consistent snapshots are on: metadata is published as
 * `<version>.<role>.json` and targets as `<sha256>.<name>`, so that clients reading during a publication never mix
 * two of them. Pure: keys, the time and the versions are the caller's.
 */
import type { CryptoProvider, PrivateKeyHandle } from '../crypto/provider.js';
import { ecdsaP1363ToDER } from '../crypto/ecdsa-signature.js';
import { CustodyError } from '../errors.js';
import { toHex, utf8 } from '../util/bytes.js';
import { encodePEM } from '../x509/pem.js';
import { tufCanonicalJSON } from './canonical-json.js';

export { tufCanonicalJSON } from './canonical-json.js';

/** The top-level roles, in the order the specification lists them. */
export const TUF_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
/** A top-level TUF role. */
export type TufRole = (typeof TUF_ROLES)[number];

/** The specification version custody's metadata follows. */
export const TUF_SPEC_VERSION = '1.0.31';

/** A target: a file the repository publishes, with custom metadata a client may act on. */
export interface TufTarget {
  /** Its target path, `/`-separated (e.g. `acme-gw/2.4.1/release.der`). */
  readonly name: string;
  readonly length: number;
  /** Hex SHA-256 of its bytes. */
  readonly sha256: string;
  /** JSON-able; integers only (TUF's canonical JSON has no other numbers). */
  readonly custom?: Record<string, unknown>;
}

/** What one publication is made of: the targets, the role keys, each role's version and expiry. */
export interface TufRepositoryInput {
  readonly targets: readonly TufTarget[];
  readonly keys: Readonly<Record<TufRole, PrivateKeyHandle>>;
  readonly versions: Readonly<Record<TufRole, number>>;
  readonly expires: Readonly<Record<TufRole, Date>>;
  readonly provider: CryptoProvider;
}

/** The four metadata files, as the bytes to publish (`<role>.json`; root also as `<version>.root.json`). */
export type TufMetadataFiles = Readonly<Record<TufRole, Uint8Array>>;

/** A TUF public key object for an ECDSA P-256 key. */
export function tufPublicKey(spki: Uint8Array): Record<string, unknown> {
  return { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: encodePEM(spki, 'PUBLIC KEY') } };
}

/** A key's TUF key ID: hex SHA-256 of its public key object's canonical JSON (specification 4.2). */
export async function tufKeyId(spki: Uint8Array, provider: CryptoProvider): Promise<string> {
  return toHex(await provider.digest('SHA-256', utf8(tufCanonicalJSON(tufPublicKey(spki)))));
}

/** TUF writes times as `YYYY-MM-DDTHH:MM:SSZ`, without fractions. */
function tufTime(d: Date): string {
  if (Number.isNaN(d.getTime())) throw new TypeError('TUF expiry: not a valid Date');
  return `${d.toISOString().slice(0, 19)}Z`;
}

function checkInput(input: TufRepositoryInput): void {
  for (const role of TUF_ROLES) {
    const v = input.versions[role];
    if (!Number.isSafeInteger(v) || v < 1) throw new TypeError(`TUF ${role} version must be a positive integer, not ${v}`);
    if (input.keys[role].curve !== 'P-256') throw new CustodyError('ERR_TUF_KEY', `TUF ${role} key: custody signs TUF metadata with P-256 keys only`);
  }
  const names = new Set<string>();
  for (const t of input.targets) {
    if (t.name.length === 0 || t.name.startsWith('/') || t.name.split('/').some((p) => p === '' || p === '.' || p === '..'))
      throw new CustodyError('ERR_TUF_TARGET', `TUF target ${JSON.stringify(t.name)}: not a relative path of non-empty parts`);
    if (names.has(t.name)) throw new CustodyError('ERR_TUF_TARGET', `TUF target ${JSON.stringify(t.name)} is listed twice`);
    if (!/^[0-9a-f]{64}$/.test(t.sha256) || !Number.isSafeInteger(t.length) || t.length < 0)
      throw new CustodyError('ERR_TUF_TARGET', `TUF target ${JSON.stringify(t.name)}: needs a length and a hex SHA-256`);
    names.add(t.name);
  }
}

async function sign(signed: Record<string, unknown>, key: PrivateKeyHandle, provider: CryptoProvider): Promise<Uint8Array> {
  const bytes = utf8(tufCanonicalJSON(signed));
  // The provider gives IEEE P1363 (r || s); TUF's ECDSA scheme carries the DER SEQUENCE of r and s.
  const sig = ecdsaP1363ToDER(await provider.sign(key, bytes));
  const keyid = await tufKeyId(key.spki, provider);
  // The file is plain JSON: canonical JSON leaves control characters (the PEM's newlines) raw, which JSON parsers
  // refuse; clients re-encode `signed` canonically to check the signature.
  return utf8(JSON.stringify({ signatures: [{ keyid, sig: toHex(sig) }], signed }));
}

async function metaFor(bytes: Uint8Array, version: number, provider: CryptoProvider): Promise<Record<string, unknown>> {
  return { version, length: bytes.length, hashes: { sha256: toHex(await provider.digest('SHA-256', bytes)) } };
}

/**
 * Builds and signs the four metadata files of one publication. Snapshot and timestamp carry the length and
 * SHA-256 of the file they name, besides its version, so that a client refuses a mixed set (mix-and-match).
 * @throws ERR_TUF_TARGET for a target name that is not a clean relative path, a duplicate, or a bad hash;
 *   ERR_TUF_KEY for a key not on P-256; ERR_TUF_CANONICAL for custom metadata with non-integer numbers;
 *   TypeError for a version below 1 or an invalid expiry
 */
export async function buildTufMetadata(input: TufRepositoryInput): Promise<TufMetadataFiles> {
  checkInput(input);
  const { provider, versions, expires, keys } = input;
  const head = (role: TufRole) => ({ _type: role, spec_version: TUF_SPEC_VERSION, version: versions[role], expires: tufTime(expires[role]) });

  const keyObjects: Record<string, unknown> = {};
  const roles: Record<string, unknown> = {};
  for (const role of TUF_ROLES) {
    const id = await tufKeyId(keys[role].spki, provider);
    keyObjects[id] = tufPublicKey(keys[role].spki);
    roles[role] = { keyids: [id], threshold: 1 };
  }
  const root = await sign({ ...head('root'), consistent_snapshot: true, keys: keyObjects, roles }, keys.root, provider);

  const targetMap: Record<string, unknown> = {};
  for (const t of input.targets) targetMap[t.name] = { length: t.length, hashes: { sha256: t.sha256 }, ...(t.custom ? { custom: t.custom } : {}) };
  const targets = await sign({ ...head('targets'), targets: targetMap }, keys.targets, provider);

  const snapshot = await sign({ ...head('snapshot'), meta: { 'targets.json': await metaFor(targets, versions.targets, provider) } }, keys.snapshot, provider);
  const timestamp = await sign(
    { ...head('timestamp'), meta: { 'snapshot.json': await metaFor(snapshot, versions.snapshot, provider) } },
    keys.timestamp,
    provider,
  );
  return { root, targets, snapshot, timestamp };
}
