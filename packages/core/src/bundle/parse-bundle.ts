/**
 * Reading bundles: a strict parse of the v1 JSON (docs/bundle.md). Every field typed, no unknown field, strict
 * base64, indexes in range, no certificate twice, and limits on sizes and counts checked before any work that
 * scales with them. Whatever is wrong is named: `bundle: attestations[1].statement.predicate.to must be ...`.
 */
import { validateStatement, type Statement } from '../attestation/statement.js';
import { CustodyError } from '../errors.js';
import { fromBase64 } from '../util/bytes.js';
import { parseStrictJSON, quoteBounded } from '../util/strict-json.js';
import {
  BUNDLE_LIMITS,
  BUNDLE_VERSION,
  type Bundle,
  type BundleAttestation,
  type BundleEarlierCheckpoint,
  type BundleInclusionProof,
  type BundleLog,
} from './bundle-model.js';
import { readShell } from './detach-attestation.js';

function malformed(field: string, what: string, cause?: unknown): CustodyError {
  return new CustodyError('ERR_BUNDLE_MALFORMED', `bundle: ${field} ${what}`, cause === undefined ? {} : { cause });
}

type JSONObject = Record<string, unknown>;

function object(v: unknown, field: string, required: readonly string[], optional: readonly string[] = []): JSONObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(field, 'must be a JSON object');
  const o = v as JSONObject;
  for (const k of required) if (!Object.hasOwn(o, k)) throw malformed(`${field === 'bundle' ? '' : `${field}.`}${k}`, 'is missing');
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) throw malformed(`${field === 'bundle' ? '' : `${field}.`}${k}`, 'is not a known field');
  return o;
}

function array(v: unknown, field: string, max: number, min = 0): unknown[] {
  if (!Array.isArray(v)) throw malformed(field, 'must be an array');
  if (v.length > max) throw malformed(field, `holds ${v.length} entries, at most ${max} allowed`);
  if (v.length < min) throw malformed(field, `must hold at least ${min} entr${min === 1 ? 'y' : 'ies'}`);
  return v;
}

function count(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw malformed(field, 'must be an integer >= 0');
  return v;
}

function base64(v: unknown, field: string, maxLength: number, derSequence: boolean): Uint8Array {
  if (typeof v !== 'string') throw malformed(field, 'must be a base64 string');
  if (v.length > maxLength) throw malformed(field, `is ${v.length} base64 characters, at most ${maxLength} allowed`);
  const bytes = decodeBase64(v);
  if (!bytes || bytes.length === 0) throw malformed(field, 'is not canonical standard base64');
  if (derSequence && bytes[0] !== 0x30) throw malformed(field, 'is not a DER SEQUENCE');
  return bytes;
}

const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: 'base64'): Uint8Array & { toString(enc: 'base64'): string } } }).Buffer;

/** Strict base64 (canonical, no whitespace); the native decoder when there is one, `fromBase64` otherwise. */
function decodeBase64(s: string): Uint8Array | undefined {
  if (!NodeBuffer) return fromBase64(s);
  const b = NodeBuffer.from(s, 'base64');
  // Re-encoding gives back the input only for canonical base64 of the standard alphabet with padding.
  return b.toString('base64') === s ? new Uint8Array(b.buffer, b.byteOffset, b.length) : undefined;
}

/** Lists up to this long are searched for repeats by comparison, longer ones through a Set. */
const SMALL_LIST = 8;

function statementField(v: unknown, field: string): Statement {
  try {
    return validateStatement(v);
  } catch (e) {
    throw malformed(`${field}:`, (e as Error).message, e);
  }
}

function attestation(v: unknown, i: number, nCerts: number): BundleAttestation {
  const field = `attestations[${i}]`;
  const o = object(v, field, ['signer', 'statement'], ['cms', 'signature']);
  if (Object.hasOwn(o, 'cms') === Object.hasOwn(o, 'signature')) throw malformed(field, 'needs exactly one of "cms" and "signature"');
  const signer = count(o.signer, `${field}.signer`);
  if (signer >= nCerts) throw malformed(`${field}.signer`, `must be a certificate index from 0 to ${nCerts - 1}`);
  const statement = statementField(o.statement, `${field}.statement`);
  if (Object.hasOwn(o, 'signature')) {
    const signature = base64(o.signature, `${field}.signature`, BUNDLE_LIMITS.maxSignatureBase64, true);
    return { signer, statement, signature };
  }
  const shell = base64(o.cms, `${field}.cms`, BUNDLE_LIMITS.maxShellBase64, true);
  try {
    readShell(shell);
  } catch (e) {
    throw malformed(`${field}.cms`, `is not a detached attestation (${(e as Error).message})`, e);
  }
  return { signer, statement, shell };
}

function note(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0) throw malformed(field, 'must be a non-empty string');
  if (v.length > BUNDLE_LIMITS.maxCheckpointLength) throw malformed(field, `is longer than ${BUNDLE_LIMITS.maxCheckpointLength} characters`);
  return v;
}

function hashList(v: unknown, field: string): Uint8Array[] {
  return array(v, field, BUNDLE_LIMITS.maxProofHashes).map((h, j) => {
    const b = base64(h, `${field}[${j}]`, 64, false);
    if (b.length !== 32) throw malformed(`${field}[${j}]`, 'must be a 32-byte SHA-256 hash');
    return b;
  });
}

function earlier(v: unknown): BundleEarlierCheckpoint[] {
  return array(v, 'log.earlier', BUNDLE_LIMITS.maxEarlierCheckpoints, 1).map((e, i) => {
    const f = `log.earlier[${i}]`;
    const eo = object(e, f, ['checkpoint', 'consistency']);
    return { checkpoint: note(eo.checkpoint, `${f}.checkpoint`), consistency: hashList(eo.consistency, `${f}.consistency`) };
  });
}

function log(v: unknown, nAttestations: number): BundleLog {
  const o = object(v, 'log', ['checkpoint', 'proofs'], ['earlier']);
  const checkpoint = note(o.checkpoint, 'log.checkpoint');
  const proofs = array(o.proofs, 'log.proofs', BUNDLE_LIMITS.maxAttestations).map((p, i): BundleInclusionProof => {
    const f = `log.proofs[${i}]`;
    const po = object(p, f, ['attestation', 'leafIndex', 'treeSize', 'hashes']);
    const att = count(po.attestation, `${f}.attestation`);
    if (att >= nAttestations) throw malformed(`${f}.attestation`, `must be an attestation index from 0 to ${nAttestations - 1}`);
    const leafIndex = count(po.leafIndex, `${f}.leafIndex`);
    const treeSize = count(po.treeSize, `${f}.treeSize`);
    if (leafIndex >= treeSize) throw malformed(`${f}.leafIndex`, 'must be less than treeSize');
    return { attestation: att, leafIndex, treeSize, hashes: hashList(po.hashes, `${f}.hashes`) };
  });
  return Object.hasOwn(o, 'earlier') ? { checkpoint, proofs, earlier: earlier(o.earlier) } : { checkpoint, proofs };
}

/** A version value for a message: numbers as they are, strings as a bounded quote, anything else by its kind. */
function describeVersion(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quoteBounded(v);
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : typeof v;
}

/**
 * Strict parse of bundle text (v1). The JSON itself is strict (`parseStrictJSON`): a member name twice in any
 * object, a member named `__proto__` or nesting deeper than 64 levels is refused like any other malformed field.
 * @throws ERR_BUNDLE_MALFORMED naming the field: not JSON, duplicate member name, too large, wrong version, unknown or missing field,
 *   wrong type, bad base64, index out of range, repeated certificate, too many entries, malformed statement or
 *   detached CMS, a label that is empty, too long or not printable
 */
export function parseBundle(text: string): Bundle {
  if (typeof text !== 'string') throw new TypeError('parseBundle: text must be a string');
  if (text.length > BUNDLE_LIMITS.maxTextLength) throw malformed('bundle', `is ${text.length} characters, at most ${BUNDLE_LIMITS.maxTextLength} allowed`);
  const json = parseStrictJSON(text, { code: 'ERR_BUNDLE_MALFORMED', what: 'bundle' });
  const o = object(json, 'bundle', ['version', 'certificates', 'attestations'], ['crls', 'log']);
  if (o.version !== BUNDLE_VERSION) throw malformed('version', `${describeVersion(o.version)} is not supported (this reader knows version ${BUNDLE_VERSION})`);
  const texts = array(o.certificates, 'certificates', BUNDLE_LIMITS.maxCertificates, 1);
  // A Set hashes each whole text (a kilobyte per certificate); a bundle's few certificates are compared with the
  // ones before instead (texts of one length differ within their first characters), a long list through the Set.
  const seen = texts.length > SMALL_LIST ? new Set<unknown>() : undefined;
  const certificates = texts.map((c, i) => {
    const der = base64(c, `certificates[${i}]`, BUNDLE_LIMITS.maxCertificateBase64, true);
    // Canonical base64: equal texts exactly when equal bytes.
    if (seen ? seen.has(c) : texts.indexOf(c) < i) throw malformed(`certificates[${i}]`, 'repeats an earlier certificate');
    seen?.add(c);
    return der;
  });
  const rawAtts = array(o.attestations, 'attestations', BUNDLE_LIMITS.maxAttestations, 1);
  const attestations = rawAtts.map((a, i) => attestation(a, i, certificates.length));
  const bundle: { -readonly [K in keyof Bundle]: Bundle[K] } = { version: BUNDLE_VERSION, certificates, attestations };
  if (Object.hasOwn(o, 'crls'))
    bundle.crls = array(o.crls, 'crls', BUNDLE_LIMITS.maxCRLs).map((c, i) => base64(c, `crls[${i}]`, BUNDLE_LIMITS.maxCRLBase64, true));
  if (Object.hasOwn(o, 'log')) bundle.log = log(o.log, attestations.length);
  // Unsigned: kept for the importer's lot selections and displays; the verifier reads none of it.
  return bundle;
}
