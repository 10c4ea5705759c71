/**
 * Bundle verification: everything a customer checks before activating a device, offline, against its trust
 * anchors. A verifier is built once per set of trust anchors (parsed once, one PathValidator, party paths cached
 * by certificate hash), then verifies any number of bundles. docs/bundle.md lists every check.
 *
 * `run` is the one place where the checks are listed, in report order (the root cause first): a new check is a
 * function in a module of its own (returning a `VerificationCheck`) and a line here. The options and the report
 * assembly live beside it (verifier-options.ts, verdict.ts), the bundle's own CAs and CRLs in carried-evidence.ts.
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
import type { ChainStep } from '../workflow/evaluate-workflow.js';
import { partyName } from '../workflow/signer-rule.js';
import { verifyChallengeResponse } from '../possession/challenge.js';
import { AttestationSignatures } from './attestation-signature.js';
import { verifyBundleLog } from './bundle-log.js';
import { CarriedEvidence } from './carried-evidence.js';
import { custodianChecks, linkCheck, sequenceCheck, timeCheck, type PreviousAttestation } from './chain-checks.js';
import { checkRemembered, type SeenCandidate } from './checkpoint-memory.js';
import { deviceManufacturer, deviceProfileCheck, deviceSerial, subjectCheck } from './device-checks.js';
import { policyChecks, workflowChecks } from './evaluation.js';
import { custodianCheck } from './expected-custodian.js';
import { checkFirmwareReleases, type FirmwareStep } from './firmware-releases.js';
import { isCompactEntry, openAttestation } from './open-attestation.js';
import { PartyTrust, type TrustedParty } from './party-trust.js';
import { RecentDigests } from './recent-digests.js';
import { fail, failFrom, pass, type VerificationCheck, type VerificationReport } from './report.js';
import { revocationCoverage } from './revocation-coverage.js';
import { revokedSignerCheck } from './revoked-signer.js';
import { assembleReport, type RunOutput } from './verdict.js';
import type { Verifier, VerifierOptions, VerifyOptions } from './verifier-options.js';

export type { ExpectedCustodian, PossessionEvidence, Verifier, VerifierOptions, VerifyOptions } from './verifier-options.js';
export { settleCheckpoint } from './verdict.js';

/** Codes of an attestation refused as a twin of a signed one (another encoding of the same signature): kept as they are. */
const TWIN_CODES: ReadonlySet<string> = new Set(['ERR_ATTESTATION_HIGH_S', 'ERR_ATTESTATION_SID']);

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
  const anchors = options.trustAnchors.map((a) => parseCertificate(a));
  const validator = new PathValidator({ trustAnchors: anchors, provider });
  const ownCRLs = (options.crls ?? []).map((c) => parseCRL(c));
  const sync = syncOf(provider);
  const sigs = new AttestationSignatures(provider);
  const hexSync = hexDigestOf(provider);
  const hexDigest = (d: Uint8Array): string => (hexSync ? hexSync('SHA-256', d) : toHex(sync ? sync.digestSync('SHA-256', d) : pureSha256(d)));
  const parties = new PartyTrust(validator, hexDigest);
  // CA and signer certificates recur in every bundle of a pallet: their hashes (the cache keys) are remembered.
  const recent = new RecentDigests(hexDigest);
  const rebuildHash = sync ? (d: Uint8Array) => sync.digestSync('SHA-256', d) : undefined;

  const logKeys = options.logKeys ?? [];
  const carriedEvidence = new CarriedEvidence(validator, recent, hexDigest, anchors);

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
        const carried = carriedEvidence.crls(bundle.crls);
        crls = [...ownCRLs, ...carried];
        crlChecks.push(...(await carriedEvidence.unsignedCRLs(carried, bundle.certificates)));
      } catch (e) {
        checks.push(failFrom('bundle: crls', e, undefined, 'ERR_BUNDLE_MALFORMED'));
      }
    }
    const intermediates = carriedEvidence.intermediates(bundle.certificates);
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
        // Bundle text was parsed (and every statement validated) just above, into objects only this run holds.
        parsed = openAttestation(entry, bundle.certificates, rebuildHash, typeof bundleIn === 'string');
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
      const c = await custodianCheck(opts.expectedCustodian, out, parties, hexDigest, ownCRLs, at);
      checks.push(c.check);
      nextCustodian ??= c.identity;
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
      return assembleReport(checks, out);
    },
  };
}

/** The provider's hex digest in one call, when it declares synchronous operations. */
function hexDigestOf(p: CryptoProvider): ((hash: 'SHA-256', data: Uint8Array) => string) | undefined {
  const s = p.sync;
  return s ? (hash, data) => s.digestHexSync(hash, data) : undefined;
}
