/**
 * Regressions of a hostile review of the one verifier (issue 17): each input here was accepted before.
 * - An attestation renamed without any key: its signer certificate's CA signature replaced by its twin (n - s), or
 *   its signer identifier changed from the key identifier to issuer and serial number. Either gives an equally valid
 *   attestation of another hash, which, imported first, makes a store refuse the real next handoff as a fork.
 * - A log operator backdating one of a bundle's earlier checkpoints, or dating a checkpoint in the future.
 * - A report verified with deferCheckpoint looking accepted before it was settled.
 * - A chain naming the device with another manufacturer than the one that issued its IDevID.
 * - A vendor claim name with a dot after the slash, shadowing a field of another claim.
 */
import assert from 'node:assert/strict';
import { bitString, children, readOne, seq } from '../../src/asn1/der.js';
import { parseClaims } from '../../src/attestation/claims.js';
import { createAttestationSigner, parseAttestation, signAttestation } from '../../src/attestation/cms.js';
import { createStatement } from '../../src/attestation/statement.js';
import type { Bundle } from '../../src/bundle/bundle-model.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { signCheckpoint } from '../../src/log/checkpoint.js';
import { consistencyProof } from '../../src/log/consistency.js';
import { inclusionProof } from '../../src/log/inclusion.js';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { MemoryNodeStore } from '../../src/log/node-store.js';
import { createVerifierKey } from '../../src/log/verifier-key.js';
import { rebuildAttestation } from '../../src/bundle/rebuild-attestation.js';
import { createVerifier, settleCheckpoint } from '../../src/verification/verifier.js';
import { twinSignatureDER } from '../attestation/high-s-twin.js';
import { AT, T_BIRTH, makeWorld, provider, sha256hex, signChain, standardSteps, type World } from './fixtures.js';

/** The certificate with its issuer's ECDSA signature replaced by the twin (n - s): it still verifies. */
function certificateTwin(der: Uint8Array): Uint8Array {
  const [tbs, alg, sig] = children(readOne(der).value);
  const ecdsaSig = sig!.value.subarray(1);
  return seq(tbs!.raw, alg!.raw, bitString(twinSignatureDER(ecdsaSig)));
}

describe('verifier: regressions of a hostile review', () => {
  let w: World;
  const verifier = () => createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT });
  const first = (r: { checks: readonly { ok: boolean }[] }) => r.checks.find((c) => !c.ok) as { name: string; code: string; reason: string } | undefined;

  before(async () => {
    w = await makeWorld();
  });

  it('refuses a signer certificate whose CA signature was replaced by its twin (ERR_VERIFY_SIGNER_HIGH_S), which renamed the last attestation', async () => {
    const honest = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
    assert.equal((await verifier().verify(honest)).ok, true);
    const last = honest.attestations[2]!;
    const twinCert = certificateTwin(honest.certificates[last.signer]!);
    const certificates = honest.certificates.map((c, i) => (i === last.signer ? twinCert : c));
    const twin: Bundle = { ...honest, certificates };
    assert.notEqual(sha256hex(rebuildAttestation(twin.attestations[2]!, twin.certificates)), sha256hex(w.chain[2]!), 'another hash');
    const r = await verifier().verify(twin);
    assert.equal(r.code, 'ERR_VERIFY_SIGNER_HIGH_S');
    assert.match(first(r)!.reason, /high-S ECDSA signature by its issuer/);
  });

  it('refuses an attestation naming its signer by issuer and serial when the certificate has a key identifier (ERR_ATTESTATION_SID)', async () => {
    const signer = await createAttestationSigner({ certificate: w.reseller.der, key: w.reseller.keys.privateKey, provider, sidKind: 'issuerAndSerialNumber' });
    const steps = standardSteps(w);
    const statement = createStatement({
      kind: 'handoff',
      device: 'Acme Devices/SN000042',
      idevidSha256: sha256hex(w.device.der),
      seq: 2,
      prev: sha256hex(w.chain[1]!),
      from: w.reseller.spkiSha256,
      to: w.customer.spkiSha256,
      time: steps[2]!.time,
      stage: 'resale',
      claims: steps[2]!.claims ?? {},
    });
    const other = await signAttestation(signer, statement, steps[2]!.time);
    assert.throws(() => parseAttestation(other), { code: 'ERR_ATTESTATION_SID' });
    // Nor can it be carried in a bundle, whose full form is rebuilt and parsed by the same parser.
    assert.throws(() => createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: [...w.chain.slice(0, 2), other] }), {
      code: 'ERR_ATTESTATION_SID',
    });
  });

  describe('log times', () => {
    const ORIGIN = 'log.acme.example/custody';
    let nodes: MemoryNodeStore;
    const roots: Uint8Array[] = [];
    let logKeys: Awaited<ReturnType<typeof provider.generateKeyPair>>;
    let base: Bundle;
    const dated = (size: number, time: Date) =>
      signCheckpoint({ origin: ORIGIN, treeSize: size, rootHash: roots[size]!, time, extensions: [] }, { name: ORIGIN, key: logKeys.privateKey }, provider);
    const v = () => createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, logKeys: [createVerifierKey(ORIGIN, logKeys.publicKey.spki)] });

    before(async () => {
      logKeys = await provider.generateKeyPair('P-256');
      const b = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
      nodes = new MemoryNodeStore();
      const log = new MerkleLog();
      roots.push(log.root());
      for (let i = 0; i < 12; i++) {
        nodes.put(log.appendEntry(i < 3 ? rebuildAttestation(b.attestations[i]!, b.certificates) : new TextEncoder().encode(`filler ${i}`)));
        roots.push(log.root());
      }
      base = {
        ...b,
        log: {
          checkpoint: await dated(12, new Date('2027-01-12T00:00:00Z')),
          proofs: [0, 1, 2].map((i) => ({ attestation: i, ...inclusionProof(nodes, i, 12) })),
        },
      };
    });

    it('refuses earlier checkpoints whose times run backwards between themselves (a backdated larger prefix)', async () => {
      const earlier = [
        { checkpoint: await dated(5, new Date('2027-01-10T00:00:00Z')), consistency: consistencyProof(nodes, 5, 12).hashes },
        { checkpoint: await dated(11, new Date('2026-12-02T00:00:00Z')), consistency: consistencyProof(nodes, 11, 12).hashes },
      ];
      const r = await v().verify({ ...base, log: { ...base.log!, earlier } });
      const check = r.checks.find((c) => c.name === 'log earlier checkpoint 1');
      assert.equal(check?.code, 'ERR_VERIFY_LOG_CONSISTENCY');
      assert.match(check!.reason!, /the log's time went backwards/);
    });

    it('refuses a checkpoint dated after the verification time, and remembers nothing of it', async () => {
      const future = { ...base, log: { ...base.log!, checkpoint: await dated(12, new Date('2099-01-01T00:00:00Z')) } };
      const seen = new Map<string, string>();
      const memory = { getSeenCheckpoint: async (o: string) => seen.get(o), putSeenCheckpoint: async (o: string, n: string) => void seen.set(o, n) };
      const r = await v().verify(future, { checkpoints: memory });
      assert.equal(r.code, 'ERR_VERIFY_LOG_CHECKPOINT');
      assert.match(first(r)!.reason, /after the verification time/);
      assert.equal(seen.size, 0);
      // Within the clock skew it is fine.
      const soon = { ...base, log: { ...base.log!, checkpoint: await dated(12, new Date(AT.getTime() + 60_000)) } };
      assert.equal((await v().verify(soon)).ok, true);
    });

    it('does not accept a report whose checkpoint is still to be settled (ERR_VERIFY_LOG_PENDING)', async () => {
      const r = await v().verify(base, { deferCheckpoint: true });
      assert.equal(r.ok, false);
      assert.equal(r.code, 'ERR_VERIFY_LOG_PENDING');
      assert.ok(r.pendingCheckpoint);
      const settled = await settleCheckpoint(r, undefined);
      assert.equal(settled.ok, true);
      assert.equal(settled.pendingCheckpoint, undefined);
    });
  });

  it('binds the device name to the IDevID issuer\'s organization: "Evil Corp/SN000042" is refused (ERR_VERIFY_SUBJECT)', async () => {
    const chain = await signChain(w.device, standardSteps(w), 'Evil Corp');
    const r = await verifier().verify(createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: chain }));
    assert.equal(r.code, 'ERR_VERIFY_SUBJECT');
    assert.match(first(r)!.reason, /issued by "Acme Devices"/);
    void T_BIRTH;
  });

  it('refuses a vendor claim name with a dot after the slash, which shadowed a field of another claim', () => {
    assert.deepEqual(parseClaims({ 'acme.example/boot': { locked: false } }), { 'acme.example/boot': { locked: false } });
    assert.throws(
      () => parseClaims({ 'acme.example/boot.locked': true }),
      (e: { code?: string }) => typeof e.code === 'string' && e.code.startsWith('ERR_CLAIMS'),
    );
  });
});
