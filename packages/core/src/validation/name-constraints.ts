/**
 * Name constraints (RFC 5280 4.2.1.10 and 6.1.3 (b)/(c)) for dNSName, rFC822Name, iPAddress and directoryName.
 * Each CA's constraints are checked on their own against every later certificate, which gives the intersection
 * semantics of 6.1.4 (g) without computing intersections. Name forms we do not process (otherName, URI, ...) are
 * refused when a constraint of that form meets a name of that form, as 4.2.1.10 requires of critical constraints.
 * A wildcard dNSName (`*.example.com`) is judged by every name it could match (defensive reading, CVE-2025-61727).
 */
import type { ParsedCertificate } from './certificate.js';
import type { GeneralName, GeneralNameKind } from './general-name.js';
import type { GeneralSubtree, NameConstraints } from './extensions.js';
import { attributeText, isNameWithin, type ParsedName } from './name.js';

/** A failed constraint check: which rule, and why. */
export interface NameConstraintFailure {
  readonly code: 'ERR_CHAIN_NAME_CONSTRAINTS' | 'ERR_CHAIN_MALFORMED' | 'ERR_CHAIN_BUDGET';
  readonly reason: string;
}

/** Work bound shared by one validation: decremented per name/subtree comparison. */
export interface WorkMeter {
  left: number;
}

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL_ATTR = '1.2.840.113549.1.9.1';

/** True for a preferred-syntax DNS name (RFC 1034 3.5 / RFC 5280 4.2.1.6), optionally with a leftmost `*` label. */
export function isValidDNSName(name: string, allowWildcard: boolean): boolean {
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.toLowerCase().split('.');
  return labels.every((l, i) => LABEL.test(l) || (allowWildcard && i === 0 && l === '*' && labels.length > 2));
}

function isValidEmail(v: string): boolean {
  const at = v.indexOf('@');
  if (at <= 0 || at !== v.lastIndexOf('@')) return false;
  return !/\s/.test(v.slice(0, at)) && isValidDNSName(v.slice(at + 1), false);
}

function isValidConstraint(base: GeneralName): boolean {
  switch (base.kind) {
    case 'dNSName':
      return base.value === '' || isValidDNSName(base.value, false);
    case 'rfc822Name': {
      const v = base.value;
      if (v.includes('@')) return isValidEmail(v);
      return isValidDNSName(v.startsWith('.') ? v.slice(1) : v, false);
    }
    case 'iPAddress': {
      const b = base.bytes;
      if (b.length !== 8 && b.length !== 32) return false;
      const mask = b.subarray(b.length / 2);
      let ended = false;
      for (const byte of mask) {
        for (let bit = 7; bit >= 0; bit--) {
          const set = (byte >> bit) & 1;
          if (set && ended) return false;
          if (!set) ended = true;
        }
      }
      return true;
    }
    default:
      return true;
  }
}

/** The reason a name-constraints extension is unusable (RFC 5280 4.2.1.10 syntax), or undefined. */
export function invalidConstraintReason(nc: NameConstraints): string | undefined {
  for (const s of [...(nc.permitted ?? []), ...(nc.excluded ?? [])]) {
    if (s.minimum !== 0 || s.maximum !== undefined) return 'minimum/maximum must be absent (RFC 5280 4.2.1.10)';
    if (!isValidConstraint(s.base)) return `invalid ${s.base.kind} constraint`;
  }
  return undefined;
}

function dnsWithin(name: string, c: string): boolean {
  return c === '' || name === c || name.endsWith(`.${c}`);
}

function dnsMatches(name: string, c: string, excluded: boolean): boolean {
  const n = name.toLowerCase();
  const k = c.toLowerCase();
  if (!n.startsWith('*.')) return dnsWithin(n, k);
  const base = n.slice(2);
  if (dnsWithin(base, k)) return true;
  // A wildcard also reaches one label below its base: excluded "bar.example.com" meets "*.example.com".
  return excluded && k.endsWith(`.${base}`) && k.split('.').length === base.split('.').length + 1;
}

function emailMatches(name: string, c: string): boolean {
  const at = name.indexOf('@');
  const local = name.slice(0, at);
  const host = name.slice(at + 1).toLowerCase();
  if (c.includes('@')) {
    const cat = c.indexOf('@');
    return local === c.slice(0, cat) && host === c.slice(cat + 1).toLowerCase();
  }
  const k = c.toLowerCase();
  return k.startsWith('.') ? host.endsWith(k) : host === k;
}

function ipMatches(ip: Uint8Array, c: Uint8Array): boolean {
  if (c.length !== ip.length * 2) return false;
  for (let i = 0; i < ip.length; i++) if ((ip[i]! & c[ip.length + i]!) !== (c[i]! & c[ip.length + i]!)) return false;
  return true;
}

type Candidate =
  | { kind: 'dNSName' | 'rfc822Name'; value: string }
  | { kind: 'iPAddress'; bytes: Uint8Array }
  | { kind: 'directoryName'; name: ParsedName }
  | { kind: GeneralNameKind };

function matches(n: Candidate, base: GeneralName, excluded: boolean): boolean {
  if (n.kind !== base.kind) return false;
  if (n.kind === 'dNSName' && base.kind === 'dNSName' && 'value' in n) return dnsMatches(n.value, base.value, excluded);
  if (n.kind === 'rfc822Name' && base.kind === 'rfc822Name' && 'value' in n) return emailMatches(n.value, base.value);
  if (n.kind === 'iPAddress' && base.kind === 'iPAddress' && 'bytes' in n) return ipMatches(n.bytes, base.bytes);
  if (n.kind === 'directoryName' && base.kind === 'directoryName' && 'name' in n) return isNameWithin(n.name, base.name);
  return false;
}

const PROCESSED = new Set<GeneralNameKind>(['dNSName', 'rfc822Name', 'iPAddress', 'directoryName']);

/** The names of `cert` that constraints apply to: subject DN, subject emailAddress, SAN entries. */
export function constrainedNames(cert: ParsedCertificate): Candidate[] {
  const out: Candidate[] = [];
  if (cert.subject.rdns.length > 0) {
    out.push({ kind: 'directoryName', name: cert.subject });
    for (const rdn of cert.subject.rdns) for (const a of rdn) if (a.type === EMAIL_ATTR) out.push({ kind: 'rfc822Name', value: attributeText(a) ?? '' });
  }
  for (const g of cert.subjectAltName ?? []) {
    if (g.kind === 'dNSName' || g.kind === 'rfc822Name') out.push({ kind: g.kind, value: g.value });
    else if (g.kind === 'iPAddress') out.push({ kind: 'iPAddress', bytes: g.bytes });
    else if (g.kind === 'directoryName') out.push({ kind: 'directoryName', name: g.name });
    else out.push({ kind: g.kind });
  }
  return out;
}

function describe(n: Candidate): string {
  if ('value' in n) return `${n.kind} "${n.value}"`;
  if ('name' in n) return `directoryName "${n.name.text}"`;
  if ('bytes' in n) return `iPAddress ${Array.from(n.bytes).join('.')}`;
  return n.kind;
}

/**
 * Checks the names of `cert` against one CA's constraints.
 * @returns undefined when every name passes, else the failure (ERR_CHAIN_BUDGET when `meter` runs out).
 */
export function checkNameConstraints(cert: ParsedCertificate, nc: NameConstraints, meter: WorkMeter): NameConstraintFailure | undefined {
  const names = constrainedNames(cert);
  const permitted: readonly GeneralSubtree[] = nc.permitted ?? [];
  const excluded: readonly GeneralSubtree[] = nc.excluded ?? [];
  meter.left -= names.length * (permitted.length + excluded.length);
  if (meter.left < 0) return { code: 'ERR_CHAIN_BUDGET', reason: 'name-constraint work bound exceeded' };
  for (const n of names) {
    const ofKind = (s: GeneralSubtree) => s.base.kind === n.kind;
    const p = permitted.filter(ofKind);
    const x = excluded.filter(ofKind);
    if (!PROCESSED.has(n.kind)) {
      if (p.length + x.length > 0) return { code: 'ERR_CHAIN_NAME_CONSTRAINTS', reason: `${n.kind} constraints are not processed; name refused` };
      continue;
    }
    if (x.some((s) => matches(n, s.base, true))) return { code: 'ERR_CHAIN_NAME_CONSTRAINTS', reason: `${describe(n)} is in an excluded subtree` };
    if (p.length > 0 && !p.some((s) => matches(n, s.base, false))) {
      return { code: 'ERR_CHAIN_NAME_CONSTRAINTS', reason: `${describe(n)} is outside the permitted subtrees` };
    }
  }
  return undefined;
}
