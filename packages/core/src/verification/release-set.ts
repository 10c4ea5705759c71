/**
 * The releases a chain verification checks installed firmware against (`checkFirmwareReleases`), from the
 * manifests and withdrawal lists a verifier was given: each verified once, here, under the verifier's trust
 * anchors with the codeSigning EKU (`@custody/core/release`). A manifest that does not verify is kept as refused,
 * with its code: it fails only a chain that installs it. A withdrawal list that does not verify fails every
 * check of the set: ignoring it could let a withdrawn release pass.
 */
import type { CryptoProvider } from '../crypto/provider.js';
import { createReleaseTrust } from '../release/code-signer.js';
import { parseReleaseManifest, verifyReleaseManifest } from '../release/release-manifest.js';
import { parseWithdrawalList, verifyWithdrawalList } from '../release/withdrawals.js';
import { toHex } from '../util/bytes.js';
import type { RefusedRelease, ReleaseSet, TrustedRelease } from './firmware-releases.js';
import { fail, type VerificationCheck } from './report.js';

/** One supplied document: its bytes, and the name (a file) that messages give it. */
export interface ReleaseDocument {
  readonly name: string;
  readonly der: Uint8Array;
}

/** What `--releases DIR` holds: release manifests and withdrawal lists. */
export interface ReleaseDocuments {
  readonly manifests: readonly ReleaseDocument[];
  readonly withdrawals: readonly ReleaseDocument[];
}

function codeOf(e: unknown, fallback: string): string {
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' && code.startsWith('ERR_') ? code : fallback;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Verifies every manifest and withdrawal list, and notes which trust anchor each release's signer chains to. A release's signer is held to its path at the release's own signed
 * time, and a list's at its `thisUpdate`, as an attestation's signer is at its signing time: a firmware signer
 * certificate that expired since does not undo the releases it signed. Never rejects for a bad document.
 * @throws ERR_CERT_PARSE when a trust anchor does not parse
 */
export async function verifyReleaseSet(docs: ReleaseDocuments, trustAnchors: readonly Uint8Array[], provider: CryptoProvider): Promise<ReleaseSet> {
  const trust = createReleaseTrust(trustAnchors, provider);
  // Each anchor alone too: which root a release's signer chains to decides whether it may serve a device.
  const single = await Promise.all(
    trustAnchors.map(async (a) => ({ sha256: toHex(await provider.digest('SHA-256', a)), trust: createReleaseTrust([a], provider) })),
  );
  // A signer's certificate and carried chain reach the same anchor in every release it signs: found once.
  const anchorOf = new Map<string, string>();
  const releases = new Map<string, TrustedRelease | RefusedRelease>();
  for (const doc of docs.manifests) {
    const hash = toHex(await provider.digest('SHA-256', doc.der));
    try {
      const at = new Date(parseReleaseManifest(doc.der).statement.predicate.time);
      const r = await verifyReleaseManifest(doc.der, trust, at);
      const p = r.statement.predicate;
      const signerKey = (await Promise.all([r.envelope.signerCertificate, ...(r.envelope.chain ?? [])].map((c) => provider.digest('SHA-256', c))))
        .map(toHex)
        .join();
      let anchorSha256 = anchorOf.get(signerKey);
      for (const s of anchorSha256 === undefined ? single : []) {
        try {
          await verifyReleaseManifest(doc.der, s.trust, at);
          anchorSha256 = s.sha256;
          anchorOf.set(signerKey, anchorSha256);
          break;
        } catch {
          // another root's signer
        }
      }
      releases.set(hash, {
        manifestSha256: hash,
        imageSha256: r.statement.subject[0].digest.sha256,
        version: p.version,
        securityCounter: p.securityCounter,
        models: p.models,
        time: new Date(p.time),
        expires: new Date(p.expires),
        signer: r.signer.subject.text,
        anchorSha256: anchorSha256 ?? '',
      });
    } catch (e) {
      releases.set(hash, { manifestSha256: hash, code: codeOf(e, 'ERR_RELEASE_MALFORMED'), reason: `${doc.name}: ${message(e)}` });
    }
  }
  const withdrawn = new Map<string, string>();
  const problems: VerificationCheck[] = [];
  for (const doc of docs.withdrawals) {
    try {
      const at = new Date(parseWithdrawalList(doc.der).list.thisUpdate);
      const list = await verifyWithdrawalList(doc.der, trust, at);
      for (const w of list.list.withdrawn) if (!withdrawn.has(w.release)) withdrawn.set(w.release, `"${list.signer.subject.text}" at ${w.time}`);
    } catch (e) {
      problems.push(
        fail(
          'firmware: withdrawals',
          'ERR_VERIFY_FIRMWARE_WITHDRAWAL',
          `${doc.name} does not stand (${codeOf(e, 'ERR_WITHDRAWALS_MALFORMED')}): ${message(e)}`,
        ),
      );
    }
  }
  return { releases, withdrawn, problems };
}
