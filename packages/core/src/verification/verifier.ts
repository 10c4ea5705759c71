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
import { equalBytes, toHex } from '../util/bytes.js';
import { sha256 as pureSha256 } from '../util/sha256.js';
import { parseCertificate, type ParsedCertificate } from '../validation/certificate.js';
import { namesEqual } from '../validation/name.js';
import { parseCRL, type ParsedCRL } from '../validation/crl.js';
import { PathValidator } from '../validation/path-validator.js';
import type { ChainStep } from '../workflow/evaluate-workflow.js';
import type { Policy } from '../workflow/policy.js';
import type { PartyIdentity } from '../workflow/signer-rule.js';
import type { ConsistencyProof } from '../log/consistency.js';
import type { HashFn } from '../log/merkle.js';
import type { VerifierKey } from '../log/verifier-key.js';
import { verifyChallengeResponse, type ChallengeRecords } from '../possession/challenge.js';
import { verifyBundleLog } from './bundle-log.js';
import { checkRemembered, type CheckpointMemory, type SeenCandidate } from './checkpoint-memory.js';
import { AttestationSignatures } from './attestation-signature.js';
import { isCompactEntry, openAttestation } from './open-attestation.js';
import { RecentDigests } from './recent-digests.js';
import { custodianChecks, linkCheck, sequenceCheck, timeCheck, type PreviousAttestation } from './chain-checks.js';
import { deviceManufacturer, deviceProfileCheck, deviceSerial, subjectCheck } from './device-checks.js';
import { policyChecks, workflowChecks, type WorkflowOption } from './evaluation.js';
import { revocationCoverage } from './revocation-coverage.js';
import { checkFirmwareReleases, type FirmwareStep, type ReleaseSet } from './firmware-releases.js';
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
  /**
   * Keys of the transparency logs this verifier trusts. Without any, a bundle's log part is only checked for
   * consistency with itself and proves nothing (no inclusion, no logging time).
   */
  readonly logKeys?: readonly VerifierKey[];
  /** SHA-256 for log leaves and proofs (default: the pure implementation; node's is faster). */
  readonly logHash?: HashFn;
  /** Default verification time (core reads no clock). */
  readonly at?: Date;
  /** Verified firmware releases and withdrawals: each installed firmware is checked against them (`checkFirmwareReleases`). */
  readonly releases?: ReleaseSet;
}

/** The proof of possession a verification checks: the device's response, and the verifier's own challenges. */
export interface PossessionEvidence {
  /** The response file's bytes, as the device wrote them. */
  readonly response: Uint8Array;
  /** The challenges this verifier issued (read only: activation spends them). */
  readonly records: ChallengeRecords;
}

/** The party expected to hold the device now: by SPKI hash, or by its attestation certificate. */
export type ExpectedCustodian = string | { readonly certificate: Uint8Array };

/** Options of one verification: its time, and the verifier's ports and evidence from outside the bundle. */
export interface VerifyOptions {
  /** Verification time; overrides the verifier's. */
  readonly at?: Date;
  /**
   * The party that must hold the device now (the last attestation's `to`): how a customer detects a chain cut
   * short, which is otherwise a valid chain to an earlier custodian. Given as a certificate, it must be a trusted
   * attestation party, and it is also the recipient the workflow's pending stage is checked against.
   */
  readonly expectedCustodian?: ExpectedCustodian;
  /** The recipient for the workflow's pending stage, when known as an identity rather than a certificate. */
  readonly nextCustodian?: PartyIdentity;
  /** The verifier's memory of each log's newest checkpoint: a bundle's checkpoint must be consistent with it. */
  readonly checkpoints?: CheckpointMemory;
  /** Consistency proofs from a log's operator, between the remembered checkpoint and a bundle's. */
  readonly consistency?: readonly ConsistencyProof[];
  /** A challenge response to check against the device's identity key. */
  readonly possession?: PossessionEvidence;
  /**
   * Leave the check against `checkpoints` to the caller: the report then carries `pendingCheckpoint`, which
   * `settleCheckpoint` completes. For verifiers on several threads whose one memory is on another: settled in
   * bundle order, the reports are those of one thread verifying in that order.
   */
  readonly deferCheckpoint?: boolean;
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
/** Codes of an attestation refused as a twin of a signed one (another encoding of the same signature): kept as they are. */
const TWIN_CODES: ReadonlySet<string> = new Set(['ERR_ATTESTATION_HIGH_S', 'ERR_ATTESTATION_SID']);
const MAX_CACHED_CAS = 256;

/**
 * Builds a verifier: parses the trust anchors and the CRLs once and prepares the path validator and caches.
 * @throws ERR_CERT_PARSE when a trust anchor does not parse; ERR_CRL_PARSE when a CRL does not parse;
 *   TypeError when `trustAnchors` is empty or `at` is not a valid Date
 */
export function createVerifier(options: VerifierOptions): Verifier {
  if (!options.trustAnchors || options.trustAnchors.length === 0) throw new TypeError('createVerifier: at least one trust anchor is needed');
  if (options.at !== undefined && !(options.at instanceof Date && !Number.isNaN(options.at.getTime())))
    throw new TypeError('createVerifier: `at` must be a valid Date');
  const { provider } = options;
  const validator = new PathValidator({ trustAnchors: options.trustAnchors.map((a) => parseCertificate(a)), provider });
  const ownCRLs = (options.crls ?? []).map((c) => parseCRL(c));
  const sync = syncOf(provider);
  const sigs = new AttestationSignatures(provider);
  const hexSync = hexDigestOf(provider);
  const hexDigest = (d: Uint8Array): string => (hexSync ? hexSync('SHA-256', d) : toHex(sync ? sync.digestSync('SHA-256', d) : pureSha256(d)));
  const parties = new PartyTrust(validator, hexDigest);
  // CA and signer certificates recur in every bundle of a pallet: their hashes (the cache keys) are remembered.
  const recent = new RecentDigests(hexDigest);
  const bundleCRLs = new Map<string, ParsedCRL>();
  const rebuildHash = sync ? (d: Uint8Array) => sync.digestSync('SHA-256', d) : undefined;

  // CA certificates carried by bundles, parsed once: a pallet shares its issuing CA.
  const cas = new Map<string, ParsedCertificate | null>();
  const parsedCA = (der: Uint8Array): ParsedCertificate | undefined => {
    const key = recent.of(der);
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

  const parseBundleCRLs = (crls: readonly Uint8Array[]): ParsedCRL[] => {
    const parsed: ParsedCRL[] = [];
    for (const der of crls) {
      const key = hexDigest(der);
      let hit = bundleCRLs.get(key);
      if (!hit) {
        hit = parseCRL(der);
        if (bundleCRLs.size >= MAX_CACHED_CRLS) bundleCRLs.delete(bundleCRLs.keys().next().value!);
        bundleCRLs.set(key, hit);
      }
      parsed.push(hit);
    }
    return parsed;
  };

  const logKeys = options.logKeys ?? [];
  const anchorCerts = options.trustAnchors.map((a) => parseCertificate(a));

  /** Why a CRL a bundle carries does not stand: no CA of `held` by its issuer name (and key id) signed it. */
  async function carriedCRLProblem(crl: ParsedCRL, held: readonly ParsedCertificate[]): Promise<string | undefined> {
    const aki = crl.authorityKeyId?.keyIdentifier;
    const signers = held.filter((c) => namesEqual(c.subject, crl.issuer) && (!aki || (c.subjectKeyId !== undefined && equalBytes(c.subjectKeyId, aki))));
    if (signers.length === 0) return 'no certificate of the bundle or the trust anchors is its issuer';
    for (const c of signers) if ((await validator.verifyCRLSignature(crl, c)).ok) return undefined;
    return "its signature does not verify under its issuer's key";
  }

  /** The expected custodian as an SPKI hash and, given as a certificate, as a trusted party; or a failed check. */
  async function expectedParty(e: ExpectedCustodian, at: Date): Promise<{ spki: string; identity?: PartyIdentity } | VerificationCheck> {
    if (typeof e === 'string') return { spki: e.toLowerCase() };
    const trust = await parties.check(e.certificate, hexDigest(e.certificate), [], at, ownCRLs, at, -1);
    if (!trust.party)
      return fail(
        'custodian',
        'ERR_VERIFY_CUSTODIAN',
        `the expected custodian's certificate is not a trusted attestation party: ${trust.check.reason ?? 'rejected'}`,
      );
    return { spki: trust.party.identity.spkiSha256, identity: trust.party.identity };
  }

  async function run(bundleIn: Bundle | string, at: Date, opts: VerifyOptions, checks: VerificationCheck[], out: RunOutput): Promise<void> {
    let bundle: Bundle;
    try {
      bundle = typeof bundleIn === 'string' ? parseBundle(bundleIn) : bundleIn;
    } catch (e) {
      checks.push(failFrom('bundle', e, undefined, 'ERR_BUNDLE_MALFORMED'));
      return;
    }
    checks.push(pass('bundle', `version ${bundle.version}, ${bundle.attestations.length} attestation(s), ${bundle.certificates.length} certificate(s)`));

    let crls: ParsedCRL[] = ownCRLs;
    // Carried CRLs that no CA here signed: reported after the paths and signatures, which are the likelier root cause.
    const crlChecks: VerificationCheck[] = [];
    if (bundle.crls && bundle.crls.length > 0) {
      try {
        const carried = parseBundleCRLs(bundle.crls);
        crls = [...ownCRLs, ...carried];
        // Every byte of a bundle counts: a carried CRL must be signed by a CA the bundle or the trust anchors hold
        // (its name, and its key where the CRL names one). A CRL nobody's path would read is refused, not ignored.
        const held = [...bundle.certificates.map((der) => parseCertificate(der)), ...anchorCerts];
        for (const [i, crl] of carried.entries()) {
          const problem = await carriedCRLProblem(crl, held);
          if (problem) crlChecks.push(fail('bundle: crls', 'ERR_VERIFY_BUNDLE_CRL', `CRL ${i} (issued by "${crl.issuer.text}"): ${problem}`));
        }
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

    // The log part first: when each attestation was provably logged decides whether a since-revoked signer stands.
    const log = await verifyBundleLog(bundle, { keys: logKeys, provider, at, ...(options.logHash ? { hash: options.logHash } : {}) });

    // (a) the device certificate
    let device: ParsedCertificate | undefined;
    try {
      device = parseCertificate(bundle.certificates[0]!);
    } catch (e) {
      checks.push(failFrom('device: certificate', e, undefined, 'ERR_CHAIN_MALFORMED'));
    }
    const deviceSha256 = hexDigest(bundle.certificates[0]!);
    let serial: string | undefined;
    let manufacturer: string | undefined;
    let deviceAnchor: ParsedCertificate | undefined;
    if (device) {
      const report = await validator.validate({ leaf: device, intermediates, at, crls, requiredKeyUsage: ['digitalSignature'] });
      if (report.ok) {
        checks.push(pass('device: certificate path', report.chain!.map((c) => `"${c.subject.text}"`).join(' <- ')));
        paths.push(report.chain!);
        deviceAnchor = report.chain![report.chain!.length - 1];
      } else {
        const first = report.checks.find((k) => !k.ok);
        checks.push(
          fail(
            'device: certificate path',
            report.code ?? 'ERR_CHAIN_NO_PATH',
            `${first?.name ?? 'path'}${first?.subject ? ` of "${first.subject}"` : ''}: ${first?.reason ?? 'rejected'}`,
          ),
        );
      }
      checks.push(deviceProfileCheck(device));
      serial = deviceSerial(device);
      manufacturer = deviceManufacturer(device);
    }

    // (b) the attestations
    const steps: ChainStep[] = [];
    const times: Date[] = [];
    const claims: Claims[] = [];
    const firmwareSteps: FirmwareStep[] = [];
    let allIdentified = true;
    let prev: PreviousAttestation | undefined;
    let firstName: string | undefined;
    for (const [n, entry] of bundle.attestations.entries()) {
      let parsed: ParsedAttestation;
      try {
        parsed = openAttestation(entry, bundle.certificates, rebuildHash);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        checks.push(
          fail(
            `attestation ${n}: parse`,
            typeof code === 'string' && TWIN_CODES.has(code) ? code : 'ERR_BUNDLE_MALFORMED',
            `attestation ${n} cannot be rebuilt: ${(e as Error).message}`,
            n,
          ),
        );
        prev = {};
        allIdentified = false;
        continue;
      }
      const s = parsed.statement;
      try {
        const pending = sigs.check(parsed, isCompactEntry(entry));
        if (pending) await pending;
        checks.push(pass(`attestation ${n}: signature`, undefined, n));
      } catch (e) {
        checks.push(failFrom(`attestation ${n}: signature`, e, n, 'ERR_VERIFY_SIGNATURE'));
      }
      const certHash = recent.of(parsed.signerCertificate);
      const trust = await parties.check(parsed.signerCertificate, certHash, intermediates, parsed.signingTime, crls, at, n);
      const revokedAt = trust.revokedAt;
      checks.push(
        revokedAt ? revokedSignerCheck({ revoked: trust.check, revokedAt, signingTime: parsed.signingTime, loggedAt: log.loggedAt[n] }, n) : trust.check,
      );
      const party: TrustedParty | undefined = trust.party;
      if (party) paths.push(party.chain);
      else allIdentified = false;
      const signerName = party ? partyName(party.identity) : `key ${s.predicate.from.slice(0, 16)}...`;
      checks.push(subjectCheck(s, deviceSha256, serial, manufacturer, firstName, n));
      if (n === 0) firstName = s.subject[0].name;
      checks.push(sequenceCheck(s, n));
      checks.push(linkCheck(s, prev, n));
      checks.push(...custodianChecks(s, prev, signerName, n));
      checks.push(timeCheck(parsed, prev, at, n));
      if (party) {
        const step: { -readonly [K in keyof ChainStep]: ChainStep[K] } = {
          seq: s.predicate.seq,
          kind: statementKind(s),
          signer: party.identity,
          claims: s.predicate.claims,
          to: s.predicate.to,
        };
        if (s.predicate.stage !== undefined) step.stage = s.predicate.stage;
        steps.push(step);
      }
      times.push(parsed.signingTime);
      claims.push(s.predicate.claims);
      firmwareSteps.push({ n, claims: s.predicate.claims, time: parsed.signingTime });
      // Only the next attestation's link needs this hash: the last one's is not computed.
      prev = { statement: s, sha256: n + 1 < bundle.attestations.length ? hexDigest(parsed.der) : undefined, time: parsed.signingTime };
      out.custodian = s.predicate.to;
    }
    out.device = firstName;
    out.claims = mergeClaims(claims);

    // (c) who holds the device now, against who should
    let nextCustodian = opts.nextCustodian;
    if (opts.expectedCustodian !== undefined) {
      const want = await expectedParty(opts.expectedCustodian, at);
      if ('name' in want) checks.push(want);
      else {
        if (want.identity) {
          nextCustodian ??= want.identity;
          if (out.custodian === want.spki) out.custodianParty = { subject: want.identity.subjectDN, spkiSha256: want.spki };
        }
        if (out.custodian === want.spki)
          checks.push(pass('custodian', `the device is handed to the expected party${want.identity ? ` "${partyName(want.identity)}"` : ''}`));
        else
          checks.push(
            fail(
              'custodian',
              'ERR_VERIFY_CUSTODIAN',
              `the last attestation hands the device to key ${String(out.custodian).slice(0, 16)}..., not to the expected custodian ${want.identity ? `"${partyName(want.identity)}" (key ${want.spki.slice(0, 16)}...)` : `${want.spki.slice(0, 16)}...`}: the chain may be cut short`,
            ),
          );
      }
    }

    // (d) the log: the bundle's proofs, then consistency with what this verifier saw of the log before
    checks.push(...log.checks);
    if (log.checkpoint && log.note) {
      const candidate: SeenCandidate = { checkpoint: log.checkpoint, note: log.note, earlier: log.earlier };
      if (opts.deferCheckpoint) out.pendingCheckpoint = { candidate, at: checks.length };
      else if (opts.checkpoints) checks.push(await checkRemembered(candidate, opts.checkpoints, opts.consistency ?? [], options.logHash));
    }

    // (e) proof of possession, against this verifier's own record of the challenge
    let possession: boolean | undefined;
    if (opts.possession) {
      const p = await verifyChallengeResponse({
        response: opts.possession.response,
        records: opts.possession.records,
        idevidSha256: deviceSha256,
        idevidSpki: device?.spki ?? new Uint8Array(0),
        now: at,
        provider,
      });
      checks.push(p.ok ? pass('proof of possession', p.reason) : fail('proof of possession', p.code ?? 'ERR_VERIFY_POSSESSION_SIGNATURE', p.reason));
      possession = p.ok;
      if (p.ok && p.nonceHex) out.challenge = p.nonceHex;
    }

    checks.push(...crlChecks);

    // Installed firmware against the signed releases; the policy judges the outcome with the rest of the evidence.
    // The model is the factory's, from the birth attestation: a later party's claims cannot change what it is.
    const model = firmwareSteps.find((f) => f.n === 0)?.claims.production?.model;
    const firmware = options.releases
      ? checkFirmwareReleases(firmwareSteps, model, options.releases, deviceAnchor ? hexDigest(deviceAnchor.der) : undefined)
      : undefined;
    if (firmware) checks.push(...firmware.checks);

    // (f) workflow and policy: they judge the evidence above, so they come after it
    if (options.workflow) {
      if (allIdentified) checks.push(...workflowChecks(options.workflow, steps, nextCustodian));
      else checks.push(fail('workflow', 'ERR_VERIFY_SIGNER', 'not evaluated: some attestations have no trusted signer'));
    }
    if (options.policy) {
      const evidence = {
        logIncluded: log.included,
        ...(possession !== undefined ? { proofOfPossession: possession } : {}),
        ...(firmware ? { firmware: firmware.evidence } : {}),
      };
      checks.push(...policyChecks(options.policy, out.claims, times, await revocationCoverage(validator, paths, { crls, intermediates, at }), at, evidence));
    }
  }

  return {
    async verify(bundle: Bundle | string, opts: VerifyOptions = {}): Promise<VerificationReport> {
      const at = opts.at ?? options.at;
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new TypeError('verify: a valid verification time `at` is needed');
      const checks: VerificationCheck[] = [];
      const out: RunOutput = { claims: {} };
      try {
        await run(bundle, at, opts, checks, out);
      } catch (e) {
        checks.push(failFrom('verification', e));
      }
      // A report whose checkpoint is still to be settled is no verdict yet: not accepted until `settleCheckpoint`.
      const verdict = out.pendingCheckpoint ? { ok: false, code: 'ERR_VERIFY_LOG_PENDING' } : verdictOf(checks);
      const report: { -readonly [K in keyof VerificationReport]: VerificationReport[K] } = { ...verdict, effectiveClaims: out.claims, checks };
      if (out.device !== undefined) report.device = out.device;
      if (out.custodian !== undefined) report.custodian = out.custodian;
      if (out.custodianParty !== undefined) report.custodianParty = out.custodianParty;
      if (out.challenge !== undefined) report.challenge = out.challenge;
      if (out.pendingCheckpoint !== undefined) report.pendingCheckpoint = out.pendingCheckpoint;
      return report;
    },
  };
}

/** The provider's hex digest in one call, when it declares synchronous operations. */
function hexDigestOf(p: CryptoProvider): ((hash: 'SHA-256', data: Uint8Array) => string) | undefined {
  const s = p.sync;
  return s ? (hash, data) => s.digestHexSync(hash, data) : undefined;
}

/** `ok` and, when not, the first failed check's code. */
function verdictOf(checks: readonly VerificationCheck[]): { ok: boolean; code?: string } {
  const first = checks.find((c) => !c.ok);
  if (first === undefined && checks.length > 0) return { ok: true };
  return { ok: false, code: first?.code ?? 'ERR_VERIFY_INTERNAL' };
}

/**
 * Completes a report verified with `deferCheckpoint` (until then it is not accepted, ERR_VERIFY_LOG_PENDING):
 * checks its log checkpoint against `memory` (remembering it when it is newer and proven) and puts that check
 * where `verify` would have; without a memory, gives the report `verify` gives without one. A report without a
 * pending checkpoint is returned as it is.
 * @throws whatever the memory port throws
 */
export async function settleCheckpoint(
  report: VerificationReport,
  memory: CheckpointMemory | undefined,
  consistency: readonly ConsistencyProof[] = [],
  hash?: HashFn,
): Promise<VerificationReport> {
  const pending = report.pendingCheckpoint;
  if (!pending) return report;
  const checks = memory
    ? [...report.checks.slice(0, pending.at), await checkRemembered(pending.candidate, memory, consistency, hash), ...report.checks.slice(pending.at)]
    : [...report.checks];
  const { pendingCheckpoint: _, code: _code, ...rest } = report;
  return { ...rest, ...verdictOf(checks), checks };
}

/** What a run learns besides its checks. */
interface RunOutput {
  device?: string;
  custodian?: string;
  custodianParty?: { subject: string; spkiSha256: string };
  challenge?: string;
  pendingCheckpoint?: { candidate: SeenCandidate; at: number };
  claims: Claims;
}
