/**
 * The monitor's analysis: given every chain a party can see (its store, bundles from elsewhere, evidence of
 * refused imports), find what signatures alone cannot show. Pure: the caller gathers the chains and the
 * revocation data and passes `now`.
 *
 *   fork              two different attestations extend the same attestation (a device handed to two parties)
 *   clone-key         one public key certified for two devices
 *   clone-serial      one device serial on two different certificates
 *   after-activation  an attestation that follows an activation, other than its owner's handoff (a resale)
 *   revoked-signer    an attestation signed with a party certificate revoked before the signing time
 *   expired-signer    an attestation signed outside its party certificate's validity
 *   held-too-long     a device not activated, held by the same party for longer than the allowed age
 */
import { CustodyError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { parseAttestation, type ParsedAttestation } from '../attestation/cms.js';
import { verifyAttestationSignature } from '../attestation/cms-verify.js';
import { parseCertificate } from '../validation/certificate.js';
import type { ParsedName } from '../validation/name.js';

export type FindingKind = 'fork' | 'clone-key' | 'clone-serial' | 'after-activation' | 'revoked-signer' | 'expired-signer' | 'held-too-long';

export interface Finding {
  kind: FindingKind;
  device: string;
  message: string;
  sources: string[];
}

/** One chain as seen somewhere: the store, a bundle file, a piece of evidence. */
export interface ObservedChain {
  source: string;
  serial: string;
  certificate: Uint8Array;
  attestations: readonly Uint8Array[];
}

export interface Revocation {
  /** Hex serial of the revoked certificate. */
  serialHex: string;
  /** The issuer's Name: matched to a signer's issuer by `namesEqual` (RFC 5280 7.1), never by display text. */
  issuer: ParsedName;
  revokedAt: Date;
}

export interface MonitorInput {
  chains: readonly ObservedChain[];
  revocations?: readonly Revocation[];
  now: Date;
  /** Longest a non-activated device may stay with one custodian, in seconds. */
  maxHoldSeconds?: number;
  provider: CryptoProvider;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Every finding, forks first; an empty list means nothing was found. */
export async function analyzeChains(input: MonitorInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  const successors = new Map<string, Map<string, { device: string; sources: string[]; to: string }>>();
  const byKey = new Map<string, Array<{ serial: string; cert: string; source: string }>>();
  const bySerial = new Map<string, Array<{ cert: string; source: string }>>();
  // Keyed by the RFC 5280 7.1 comparison key, which is what `namesEqual` compares.
  const revoked = new Map((input.revocations ?? []).map((r) => [`${r.issuer.key}|${r.serialHex.toLowerCase().replace(/^0+/, '')}`, r.revokedAt]));
  const seenAttestation = new Set<string>();
  for (const chain of input.chains) {
    const cert = parseCertificate(chain.certificate);
    const certHash = toHex(await input.provider.digest('SHA-256', chain.certificate));
    push(byKey, toHex(await input.provider.digest('SHA-256', cert.spki)), { serial: chain.serial, cert: certHash, source: chain.source });
    push(bySerial, chain.serial, { cert: certHash, source: chain.source });
    let activated = false;
    let activation: { to: string; hash: string } | undefined;
    let lastTime: Date | undefined;
    for (const der of chain.attestations) {
      const hash = toHex(await input.provider.digest('SHA-256', der));
      const a = parseAttestation(der);
      const p = a.statement.predicate;
      const kind = a.statement.predicateType.split('/').at(-2);
      if (p.prev !== null) {
        const succ = successors.get(p.prev) ?? new Map();
        successors.set(p.prev, succ);
        const entry = succ.get(hash) ?? { device: chain.serial, sources: [], to: p.to };
        if (!entry.sources.includes(chain.source)) entry.sources.push(chain.source);
        succ.set(hash, entry);
      }
      // A resale is the one attestation that may follow an activation: a handoff signed by the activating owner,
      // naming the activation. Anything else after an activation is reported.
      // "from" is only the statement's word: the signature must be the owner's too, or anyone could pose as them.
      const resale = activated && kind === 'handoff' && p.from === activation?.to && p.prev === activation?.hash && (await signedByFrom(a, input.provider));
      if (activated && !resale && !seenAttestation.has(`after:${hash}`)) {
        seenAttestation.add(`after:${hash}`);
        findings.push({
          kind: 'after-activation',
          device: chain.serial,
          message: `attestation ${p.seq} (${kind}) follows the device's activation`,
          sources: [chain.source],
        });
      }
      if (kind === 'activation') {
        activated = true;
        activation = { to: p.to, hash };
      } else if (resale) activated = false;
      const signer = parseCertificate(a.signerCertificate);
      const time = new Date(p.time);
      const key = `sig:${hash}`;
      if (!seenAttestation.has(key)) {
        seenAttestation.add(key);
        const revokedAt = revoked.get(`${signer.issuer.key}|${signer.serialHex.replace(/^0+/, '')}`);
        if (revokedAt && revokedAt.getTime() <= time.getTime()) {
          findings.push({
            kind: 'revoked-signer',
            device: chain.serial,
            message: `attestation ${p.seq} was signed at ${p.time} by "${signer.subject.text}", revoked at ${revokedAt.toISOString()}`,
            sources: [chain.source],
          });
        }
        if (time < signer.notBefore || time > signer.notAfter) {
          findings.push({
            kind: 'expired-signer',
            device: chain.serial,
            message: `attestation ${p.seq} was signed at ${p.time}, outside the validity of "${signer.subject.text}" (${signer.notBefore.toISOString()} to ${signer.notAfter.toISOString()})`,
            sources: [chain.source],
          });
        }
      }
      lastTime = time;
    }
    if (input.maxHoldSeconds !== undefined && !activated && lastTime && input.now.getTime() - lastTime.getTime() > input.maxHoldSeconds * 1000) {
      const days = Math.floor((input.now.getTime() - lastTime.getTime()) / 86_400_000);
      findings.push({
        kind: 'held-too-long',
        device: chain.serial,
        message: `held by the same custodian since ${lastTime.toISOString()} (${days} days)`,
        sources: [chain.source],
      });
    }
  }
  for (const [prev, succ] of successors) {
    if (succ.size < 2) continue;
    const entries = [...succ.values()];
    findings.unshift({
      kind: 'fork',
      device: entries[0]!.device,
      message: `${succ.size} different attestations extend attestation ${prev.slice(0, 16)}...: the device was handed to ${entries.map((e) => `key ${e.to.slice(0, 12)}...`).join(' and ')}`,
      sources: [...new Set(entries.flatMap((e) => e.sources))],
    });
  }
  for (const [key, list] of byKey) {
    const serials = new Set(list.map((l) => l.serial));
    if (serials.size > 1)
      findings.push({
        kind: 'clone-key',
        device: [...serials].join(', '),
        message: `one public key (${key.slice(0, 16)}...) is certified for ${serials.size} devices: ${[...serials].join(', ')}`,
        sources: [...new Set(list.map((l) => l.source))],
      });
  }
  for (const [serial, list] of bySerial) {
    const certs = new Set(list.map((l) => l.cert));
    if (certs.size > 1)
      findings.push({
        kind: 'clone-serial',
        device: serial,
        message: `device serial ${serial} appears on ${certs.size} different certificates`,
        sources: [...new Set(list.map((l) => l.source))],
      });
  }
  return findings;
}

/** True when the attestation's signature verifies with the key its statement names as "from". */
async function signedByFrom(a: ParsedAttestation, provider: CryptoProvider): Promise<boolean> {
  try {
    await verifyAttestationSignature(a, provider);
    return true;
  } catch (e) {
    if (e instanceof CustodyError) return false;
    throw e;
  }
}
