/**
 * Bundle verification: everything a customer checks before activating a device, offline, against its trust
 * anchors. A verifier is built once per set of trust anchors (parsed once, one PathValidator, party paths cached
 * by certificate hash), then verifies any number of bundles. docs/bundle.md lists every check.
 */
import { mergeClaims, type Claims } from '../attestation/claims.js';
import type { ParsedAttestation } from '../attestation/cms-parse.js';
import { statementKind } from '../attestation/statement.js';
import { syncOf } from '../attestation/cms-common.js';
import type { Bundle } from '../bundle/bundle-model.js';
import { parseBundle } from '../bundle/parse-bundle.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { toHex } from '../util/bytes.js';
import { sha256 as pureSha256 } from '../util/sha256.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { parseCRL, type ParsedCRL } from '../validation/crl.js';
import { PathValidator } from '../validation/path-validator.js';
import { createProviderVerifier } from '../validation/signature.js';
import type { ChainStep } from '../workflow/evaluate-workflow.js';
import type { Policy } from '../workflow/policy.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';
import { AttestationSignatures } from './attestation-signature.js';
import { openAttestation } from './open-attestation.js';
import { custodianChecks, linkCheck, sequenceCheck, timeCheck, type PreviousAttestation } from './chain-checks.js';
import { deviceProfileCheck, deviceSerial, subjectCheck } from './device-checks.js';
import { policyChecks, workflowChecks, type ExternalEvidence, type WorkflowOption } from './evaluation.js';
import { revocationCoverage } from './revocation-coverage.js';
import { partyName } from '../workflow/signer-rule.js';
import { PartyTrust, type TrustedParty } from './party-trust.js';
import { revokedSignerCheck } from './revoked-signer.js';
import { fail, failFrom, pass, type VerificationCheck, type VerificationReport } from './report.js';

/** What a verifier is built from. */
export interface VerifierOptions {
  /** Trust anchors (DER root certificates): the manufacturer's and every party's. */
  readonly trustAnchors: readonly Uint8Array[];
  readonly provider: CryptoProvider;
  /** Hold every chain to this workflow; without it, any trusted party may sign any attestation. */
  readonly workflow?: WorkflowOption;
  /** The customer's acceptance policy. */
  readonly policy?: Policy;
  /** CRLs (DER) to check every certificate against, besides the bundle's own. */
  readonly crls?: readonly Uint8Array[];
  /** Default verification time (core reads no clock). */
  readonly at?: Date;
}

/** Options of one verification. */
export interface VerifyOptions extends ExternalEvidence {
  /** Verification time; overrides the verifier's. */
  readonly at?: Date;
  /** The party expected to receive the device next (the verifying customer), for the workflow's pending stage. */
  readonly nextCustodian?: PartyIdentity;
  /**
   * Hex SHA-256 of the SPKI of the party that must hold the device now (the last attestation's `to`): how a
   * customer detects a chain cut short, which is otherwise a valid chain to an earlier custodian.
   */
  readonly expectedCustodian?: string;
  /**
   * By attestation index, the earliest time a trusted log proves the attestation was logged by (`loggedAt` of
   * `verifyBundleLog`). An attestation whose signer's certificate is revoked is accepted only when it was signed
   * and logged before the revocation; without this, a revoked signer always rejects.
   */
  readonly logTimes?: readonly (Date | undefined)[];
}

/** A verifier for one set of trust anchors. */
export interface Verifier {
  /**
   * Verifies a bundle (text or parsed). Never rejects for a bad bundle: every failure is a check in the report.
   * @throws TypeError when no valid verification time is given (here or to `createVerifier`)
   */
  verify(bundle: Bundle | string, options?: VerifyOptions): Promise<VerificationReport>;
}

const MAX_CACHED_CRLS = 64;
const MAX_CACHED_CAS = 256;

/**
 * Builds a verifier: parses the trust anchors and the CRLs once and prepares the path validator and caches.
 * @throws ERR_CERT_PARSE when a trust anchor does not parse; ERR_CRL_PARSE when a CRL does not parse;
 *   TypeError when `trustAnchors` is empty or `at` is not a valid Date
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (!options.trustAnchors || options.trustAnchors.length === 0) throw new TypeError('createVerifier: at least one trust anchor is needed');
  if (options.at !== undefined && !(options.at instanceof Date && !Number.isNaN(options.at.getTime()))) throw new TypeError('createVerifier: `at` must be a valid Date');
  const { provider } = options;
  const validator = new PathValidator({ trustAnchors: options.trustAnchors.map((a) => parseCertificate(a)), provider });
  const ownCRLs = (options.crls ?? []).map((c) => parseCRL(c));
  const sync = syncOf(provider);
  const sigs = new AttestationSignatures(provider);
  const hexDigest = (d: Uint8Array): string => toHex(sync ? sync.digestSync('SHA-256', d) : pureSha256(d));
  const crlVerifier = createProviderVerifier(provider);
  const crlSigs = new WeakMap<ParsedCRL, Map<string, Promise<{ ok: boolean; reason?: string }>>>();
  const verifyCRL = (crl: ParsedCRL, issuer: ParsedCertificate): Promise<{ ok: boolean; reason?: string }> => {
    let m = crlSigs.get(crl);
    if (!m) crlSigs.set(crl, (m = new Map()));
    let hit = m.get(issuer.id);
    if (!hit) {
      hit = crlVerifier({ spki: issuer.spki, algorithm: crl.signatureAlgorithm, data: crl.tbs, signature: crl.signature }).then(
        (ok) => (ok ? { ok } : { ok, reason: 'signature does not verify' }),
        (e: unknown) => ({ ok: false, reason: (e as Error).message }),
      );
      m.set(issuer.id, hit);
    }
    return hit;
  };
  const parties = new PartyTrust(validator, hexDigest, verifyCRL);
  const bundleCRLs = new Map<string, ParsedCRL>();
  const rebuildHash = sync ? (d: Uint8Array) => sync.digestSync('SHA-256', d) : undefined;

  // CA certificates carried by bundles, parsed once: a pallet shares its issuing CA.
  const cas = new Map<string, ParsedCertificate | null>();
  const parsedCA = (der: Uint8Array): ParsedCertificate | undefined => {
    const key = hexDigest(der);
    let hit = cas.get(key);
    if (hit === undefined) {
      try {
        const c = parseCertificate(der);
        hit = c.basicConstraints?.cA ? c : null;
      } catch {
        hit = null; // not a usable intermediate; path building reports what is missing
      }
      if (cas.size >= MAX_CACHED_CAS) cas.delete(cas.keys().next().value!);
      cas.set(key, hit);
    }
    return hit ?? undefined;
  };

  const parseBundleCRLs = (crls: readonly Uint8Array[]): { parsed: ParsedCRL[]; key: string } => {
    const parsed: ParsedCRL[] = [];
    const keys: string[] = [];
    for (const der of crls) {
      const key = hexDigest(der);
      let hit = bundleCRLs.get(key);
      if (!hit) {
        hit = parseCRL(der);
        if (bundleCRLs.size >= MAX_CACHED_CRLS) bundleCRLs.delete(bundleCRLs.keys().next().value!);
        bundleCRLs.set(key, hit);
      }
      parsed.push(hit);
      keys.push(key);
    }
    return { parsed, key: keys.sort().join(',') };
  };

  async function run(bundleIn: Bundle | string, at: Date, opts: VerifyOptions, checks: VerificationCheck[], out: { device?: string; custodian?: string; claims: Claims }): Promise<void> {
    let bundle: Bundle;
    try {
      bundle = typeof bundleIn === 'string' ? parseBundle(bundleIn) : bundleIn;
    } catch (e) {
      checks.push(failFrom('bundle', e, undefined, 'ERR_BUNDLE_MALFORMED'));
      return;
    }
    checks.push(pass('bundle', `version ${bundle.version}, ${bundle.attestations.length} attestation(s), ${bundle.certificates.length} certificate(s)`));

    let crls: ParsedCRL[] = ownCRLs;
    let crlKey = '';
    if (bundle.crls && bundle.crls.length > 0) {
      try {
        const b = parseBundleCRLs(bundle.crls);
        crls = [...ownCRLs, ...b.parsed];
        crlKey = b.key;
      } catch (e) {
        checks.push(failFrom('bundle: crls', e, undefined, 'ERR_BUNDLE_MALFORMED'));
      }
    }
    const intermediates: ParsedCertificate[] = [];
    for (const der of bundle.certificates.slice(1)) {
      const c = parsedCA(der);
      if (c) intermediates.push(c);
    }
    const paths: (readonly ParsedCertificate[])[] = [];

    // (a) the device certificate
    let device: ParsedCertificate | undefined;
    try {
      device = parseCertificate(bundle.certificates[0]!);
    } catch (e) {
      checks.push(failFrom('device: certificate', e, undefined, 'ERR_CHAIN_MALFORMED'));
    }
    const deviceSha256 = hexDigest(bundle.certificates[0]!);
    let serial: string | undefined;
    if (device) {
      const report = await validator.validate({ leaf: device, intermediates, at, crls, requiredKeyUsage: ['digitalSignature'] });
      if (report.ok) {
        checks.push(pass('device: certificate path', report.chain!.map((c) => `"${c.subject.text}"`).join(' <- ')));
        paths.push(report.chain!);
      } else {
        const first = report.checks.find((k) => !k.ok);
        checks.push(fail('device: certificate path', report.code ?? 'ERR_CHAIN_NO_PATH', `${first?.name ?? 'path'}${first?.subject ? ` of "${first.subject}"` : ''}: ${first?.reason ?? 'rejected'}`));
      }
      checks.push(deviceProfileCheck(device));
      serial = deviceSerial(device);
    }

    // (b) the attestations
    const steps: ChainStep[] = [];
    const times: Date[] = [];
    const claims: Claims[] = [];
    let allIdentified = true;
    let prev: PreviousAttestation | undefined;
    let firstName: string | undefined;
    for (const [n, entry] of bundle.attestations.entries()) {
      let parsed: ParsedAttestation;
      try {
        parsed = openAttestation(entry, bundle.certificates, rebuildHash);
      } catch (e) {
        checks.push(fail(`attestation ${n}: parse`, 'ERR_BUNDLE_MALFORMED', `attestation ${n} cannot be rebuilt: ${(e as Error).message}`, n));
        prev = {};
        allIdentified = false;
        continue;
      }
      const s = parsed.statement;
      try {
        await sigs.verify(parsed);
        checks.push(pass(`attestation ${n}: signature`, undefined, n));
      } catch (e) {
        checks.push(failFrom(`attestation ${n}: signature`, e, n, 'ERR_VERIFY_SIGNATURE'));
      }
      const certHash = hexDigest(parsed.signerCertificate);
      const trust = await parties.check(parsed.signerCertificate, certHash, intermediates, parsed.signingTime, crls, crlKey, at, n);
      const revokedAt = trust.revokedAt;
      checks.push(revokedAt ? revokedSignerCheck({ revoked: trust.check, revokedAt, signingTime: parsed.signingTime, loggedAt: opts.logTimes?.[n] }, n) : trust.check);
      const party: TrustedParty | undefined = trust.party;
      if (party) paths.push(party.chain);
      else allIdentified = false;
      const signerName = party ? partyName(party.identity) : `key ${s.predicate.from.slice(0, 16)}...`;
      checks.push(subjectCheck(s, deviceSha256, serial, firstName, n));
      if (n === 0) firstName = s.subject[0].name;
      checks.push(sequenceCheck(s, n));
      checks.push(linkCheck(s, prev, n));
      checks.push(...custodianChecks(s, prev, signerName, n));
      checks.push(timeCheck(parsed, prev, at, n));
      if (party) {
        const step: { -readonly [K in keyof ChainStep]: ChainStep[K] } = { seq: s.predicate.seq, kind: statementKind(s), signer: party.identity, claims: s.predicate.claims, to: s.predicate.to };
        if (s.predicate.stage !== undefined) step.stage = s.predicate.stage;
        steps.push(step);
      }
      times.push(parsed.signingTime);
      claims.push(s.predicate.claims);
      prev = { statement: s, sha256: hexDigest(parsed.der), time: parsed.signingTime };
      out.custodian = s.predicate.to;
    }
    out.device = firstName;
    out.claims = mergeClaims(claims);
    if (opts.expectedCustodian !== undefined) {
      const want = opts.expectedCustodian.toLowerCase();
      if (out.custodian === want) checks.push(pass('custodian', 'the device is handed to the expected party'));
      else checks.push(fail('custodian', 'ERR_VERIFY_CUSTODIAN', `the last attestation hands the device to key ${String(out.custodian).slice(0, 16)}..., not to the expected custodian ${want.slice(0, 16)}...`));
    }

    // (c) workflow and policy
    if (options.workflow) {
      if (allIdentified) checks.push(...workflowChecks(options.workflow, steps, opts.nextCustodian));
      else checks.push(fail('workflow', 'ERR_VERIFY_SIGNER', 'not evaluated: some attestations have no trusted signer'));
    }
    if (options.policy) checks.push(...policyChecks(options.policy, out.claims, times, await revocationCoverage(validator, paths, { crls, intermediates, at }), at, opts));
  }

  return {
    async verify(bundle: Bundle | string, opts: VerifyOptions = {}): Promise<VerificationReport> {
      const at = opts.at ?? options.at;
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('verify: a valid verification time `at` is needed');
      const checks: VerificationCheck[] = [];
      const out: { device?: string; custodian?: string; claims: Claims } = { claims: {} };
      try {
        await run(bundle, at, opts, checks, out);
      } catch (e) {
        checks.push(failFrom('verification', e));
      }
      const first = checks.find((c) => !c.ok);
      const ok = first === undefined && checks.length > 0;
      const report: { -readonly [K in keyof VerificationReport]: VerificationReport[K] } = { ok, effectiveClaims: out.claims, checks };
      if (out.device !== undefined) report.device = out.device;
      if (out.custodian !== undefined) report.custodian = out.custodian;
      if (!ok) report.code = first?.code ?? 'ERR_VERIFY_INTERNAL';
      return report;
    },
  };
}
