/**
 * Who may sign a workflow stage: a party certificate issued by a named CA (optionally with fixed subject
 * attributes), or one of a list of pinned certificates or keys. CA names resolve at evaluation time against the
 * CAs the caller trusts, so one workflow file serves every deployment.
 */
import { NAME_ATTRIBUTES } from '../x509/name.js';
import type { FieldPath, FieldReader } from './yaml-reader.js';

/** A party certificate issued directly by the CA the caller calls `ca`, with these subject attributes. */
export interface CASignerRule {
  readonly ca: string;
  /** Attribute constraints, e.g. `{O: "Acme Resale"}`; each must equal the signer's attribute exactly. */
  readonly subject?: Readonly<Record<string, string>>;
}

/** A signer pinned by the lower-case hex SHA-256 of its certificate DER or of its SubjectPublicKeyInfo DER. */
export interface PinnedSignerRule {
  readonly pinned: readonly string[];
}

export type SignerRule = CASignerRule | PinnedSignerRule;

/** The identity of the party that signed an attestation, as verification established it. */
export interface PartyIdentity {
  /** Subject attributes by short name, e.g. `{CN: "Acme Resale signer", O: "Acme Resale"}`. */
  readonly subject: Readonly<Record<string, string>>;
  readonly subjectDN: string;
  readonly issuerDN: string;
  /** SHA-256 (hex) of the issuing CA's certificate DER, when the path to it was built. */
  readonly issuerCertSha256?: string;
  readonly certSha256: string;
  readonly spkiSha256: string;
}

/** The CAs a caller trusts for workflow purposes, by the names workflows use. */
export interface WorkflowTrust {
  readonly cas: Readonly<Record<string, { readonly subjectDN: string; readonly certSha256: string }>>;
}

const HEX64 = /^[0-9a-fA-F]{64}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
// Short names a subject constraint may use: the ones custody's names are built from.
const SUBJECT_ATTRIBUTES = Object.keys(NAME_ATTRIBUTES);

/**
 * Reads one signer rule.
 * @throws the reader's code (file:line: field: problem)
 */
export function readSignerRule(r: FieldReader, value: unknown, path: FieldPath): SignerRule {
  const obj = r.object(value, path, ['ca', 'subject', 'pinned']);
  if ((obj['ca'] === undefined) === (obj['pinned'] === undefined)) r.fail(path, 'a signer is either {ca, subject?} or {pinned}');
  if (obj['pinned'] !== undefined) {
    if (obj['subject'] !== undefined) r.fail([...path, 'subject'], 'subject constraints apply to ca signers only');
    const p = [...path, 'pinned'];
    const pinned = r.list(obj['pinned'], p, 1).map((v, i) => r.string(v, [...p, i], { pattern: HEX64, hint: 'a hex SHA-256 (64 digits)' }).toLowerCase());
    return { pinned };
  }
  const ca = r.string(obj['ca'], [...path, 'ca'], { pattern: NAME, hint: 'a CA name of letters, digits, ".", "_" and "-"' });
  const subject = r.optional(obj, 'subject', path, (v, p) => {
    const attrs = r.object(v, p, SUBJECT_ATTRIBUTES);
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(attrs)) out[k] = r.string(x, [...p, k]);
    return out;
  });
  return subject === undefined ? { ca } : { ca, subject };
}

/** Whether `party` satisfies `rule`, and if not, why. */
export function matchSignerRule(rule: SignerRule, party: PartyIdentity, trust: WorkflowTrust): { ok: boolean; reason: string } {
  if ('pinned' in rule) {
    const ok = rule.pinned.includes(party.certSha256.toLowerCase()) || rule.pinned.includes(party.spkiSha256.toLowerCase());
    return { ok, reason: ok ? 'pinned' : 'its certificate and key are not pinned' };
  }
  const ca = Object.hasOwn(trust.cas, rule.ca) ? trust.cas[rule.ca] : undefined;
  if (!ca) return { ok: false, reason: `no CA named "${rule.ca}" was supplied` };
  // The certificate hash pins the exact CA when the verifier knows it; the DN is the fallback.
  const issued = party.issuerCertSha256 !== undefined ? party.issuerCertSha256.toLowerCase() === ca.certSha256.toLowerCase() : party.issuerDN === ca.subjectDN;
  if (!issued) return { ok: false, reason: `issued by "${party.issuerDN}", not by CA "${rule.ca}"` };
  for (const [attr, expected] of Object.entries(rule.subject ?? {})) {
    if (party.subject[attr] !== expected) {
      return { ok: false, reason: `subject ${attr} is ${JSON.stringify(party.subject[attr] ?? null)}, expected "${expected}"` };
    }
  }
  return { ok: true, reason: `issued by CA "${rule.ca}"` };
}

/** Whether any rule admits `party`; the reasons of every rule otherwise. */
export function matchSigners(rules: readonly SignerRule[], party: PartyIdentity, trust: WorkflowTrust): { ok: boolean; reason: string } {
  const reasons: string[] = [];
  for (const rule of rules) {
    const m = matchSignerRule(rule, party, trust);
    if (m.ok) return m;
    reasons.push(m.reason);
  }
  return { ok: false, reason: reasons.join('; ') };
}

/** A party's readable name: its organisation, else its common name, else its DN. */
export function partyName(party: PartyIdentity): string {
  return party.subject['O'] ?? party.subject['CN'] ?? party.subjectDN;
}
