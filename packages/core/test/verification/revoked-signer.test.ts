/**
 * The revoked-signer rule: an attestation by a party whose certificate is revoked at R stands only when it was
 * signed before R and a trusted log checkpoint dated before R held it (the verifier's log part, `verifyBundleLog`).
 *
 * The log: leaves 0..9, the device's attestations at 2 (birth, factory), 4 (handoff, integrator) and 6
 * (handoff, reseller), fillers elsewhere. The integrator is the revoked party.
 */
import assert from 'node:assert/strict';
import { generalizedTime } from '../../src/asn1/der.js';
import type { Bundle, BundleEarlierCheckpoint } from '../../src/bundle/bundle-model.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { parseBundle } from '../../src/bundle/parse-bundle.js';
import { rebuildAttestation } from '../../src/bundle/rebuild-attestation.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { signCheckpoint } from '../../src/log/checkpoint.js';
import { consistencyProof } from '../../src/log/consistency.js';
import { inclusionProof } from '../../src/log/inclusion.js';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { MemoryNodeStore } from '../../src/log/node-store.js';
import { createVerifierKey, type VerifierKey } from '../../src/log/verifier-key.js';
import { revocationTime } from '../../src/validation/crl-check.js';
import { verifyBundleLog } from '../../src/verification/bundle-log.js';
import { revokedSignerCheck } from '../../src/verification/revoked-signer.js';
import { createVerifier } from '../../src/verification/verifier.js';
import { fail } from '../../src/verification/report.js';
import { createCRL } from '../../src/x509/crl-builder.js';
import { AT, makeWorld, provider, type Holder, type World } from './fixtures.js';

const ORIGIN = 'log.acme.example/custody';
/** The integrator's revocation (its handoff, attestation 1, is signed 2026-12-01T09:30:00Z). */
const R = new Date('2026-12-05T00:00:00Z');
const BEFORE = new Date('2026-12-02T00:00:00Z');
const AFTER = new Date('2026-12-06T00:00:00Z');
const HEAD_TIME = new Date('2027-01-10T00:00:00Z');
const LEAVES = { 2: 0, 4: 1, 6: 2 } as Record<number, number>;
const SIZE = 10;

describe('revoked signer: logged before the revocation', () => {
  let w: World;
  let base: Bundle;
  let logKeys: KeyPair;
  let trusted: VerifierKey;
  let nodes: MemoryNodeStore;
  const roots: Uint8Array[] = [];

  const crlRevoking = (ca: Holder, serialHex: string, revokedAt: Date) =>
    createCRL({
      issuer: ca.info,
      key: ca.keys.privateKey,
      provider,
      thisUpdate: new Date('2027-01-01T00:00:00Z'),
      nextUpdate: new Date('2027-02-01T00:00:00Z'),
      crlNumber: 1,
      revoked: [{ serialHex, revokedAt }],
    });
  const checkpoint = (size: number, time: Date | undefined, key = logKeys) =>
    signCheckpoint(
      { origin: ORIGIN, treeSize: size, rootHash: roots[size]!, ...(time ? { time } : {}), extensions: [] },
      { name: ORIGIN, key: key.privateKey },
      provider,
    );
  const earlier = async (size: number, time: Date): Promise<BundleEarlierCheckpoint> => ({
    checkpoint: await checkpoint(size, time),
    consistency: consistencyProof(nodes, size, SIZE).hashes,
  });
  const withEarlier = (...e: BundleEarlierCheckpoint[]): Bundle => ({ ...base, log: { ...base.log!, earlier: e } });

  /** The verifier with the trusted log key, as `devices verify --log-key` runs it; `log` is its log part alone. */
  async function verify(bundle: Bundle, revokedAt = R, crlOf: 'party' | 'device' = 'party') {
    const crl =
      crlOf === 'party'
        ? await crlRevoking(w.northwindRoot, w.integrator.info.serialHex, revokedAt)
        : await crlRevoking(w.acmeIssuing, w.device.info.serialHex, revokedAt);
    const log = await verifyBundleLog(bundle, { keys: [trusted], provider });
    const report = await createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, crls: [crl], logKeys: [trusted] }).verify(bundle);
    const signer = report.checks.find((c) => c.name === 'attestation 1: signer revocation');
    return { log, report, signer };
  }

  before(async () => {
    w = await makeWorld();
    logKeys = await provider.generateKeyPair('P-256');
    trusted = createVerifierKey(ORIGIN, logKeys.publicKey.spki);
    const bundle = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
    nodes = new MemoryNodeStore();
    const log = new MerkleLog();
    roots.push(log.root());
    for (let i = 0; i < SIZE; i++) {
      const att = LEAVES[i];
      nodes.put(
        log.appendEntry(
          att === undefined
            ? new TextEncoder().encode(`another device's attestation ${i}`)
            : rebuildAttestation(bundle.attestations[att]!, bundle.certificates),
        ),
      );
      roots.push(log.root());
    }
    const proofs = Object.entries(LEAVES).map(([leaf, attestation]) => ({ attestation, ...inclusionProof(nodes, Number(leaf), SIZE) }));
    base = { ...bundle, log: { checkpoint: await checkpoint(SIZE, HEAD_TIME), proofs } };
  });

  it('accepts an attestation signed and logged before its signer was revoked', async () => {
    const { log, report, signer } = await verify(withEarlier(await earlier(5, BEFORE)));
    assert.equal(report.ok, true, JSON.stringify(report.checks.filter((c) => !c.ok)));
    assert.equal(signer?.ok, true);
    assert.match(signer!.reason!, /logged by 2026-12-02T00:00:00Z, before the revocation/);
    assert.deepEqual(
      log.loggedAt.map((d) => d?.toISOString()),
      [BEFORE.toISOString(), BEFORE.toISOString(), HEAD_TIME.toISOString()],
    );
    assert.ok(log.checks.some((c) => c.name === 'log earlier checkpoint 0' && c.ok));
  });

  it('accepts on the bundle checkpoint alone when it predates the revocation', async () => {
    const early: Bundle = { ...base, log: { ...base.log!, checkpoint: await checkpoint(SIZE, BEFORE) } };
    assert.equal((await verify(early)).report.ok, true);
  });

  it('rejects without log proof: no log times, no earlier checkpoint, no log (ERR_CHAIN_REVOKED)', async () => {
    const crl = await crlRevoking(w.northwindRoot, w.integrator.info.serialHex, R);
    const verifier = createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, crls: [crl] });
    assert.equal((await verifier.verify(withEarlier(await earlier(5, BEFORE)))).code, 'ERR_CHAIN_REVOKED');
    const { report, signer } = await verify(base);
    assert.equal(report.code, 'ERR_CHAIN_REVOKED');
    assert.match(signer!.reason!, /earliest trusted log checkpoint holding attestation 1 is dated 2027-01-10T00:00:00Z/);
    const { log: _log, ...bare } = base;
    const none = await verify(bare);
    assert.equal(none.report.code, 'ERR_CHAIN_REVOKED');
    assert.match(none.signer!.reason!, /no trusted log checkpoint proves attestation 1 was logged before the revocation/);
  });

  it('rejects when the earliest checkpoint is dated at or after the revocation (ERR_CHAIN_REVOKED)', async () => {
    for (const time of [AFTER, R]) {
      const { report, signer } = await verify(withEarlier(await earlier(5, time)));
      assert.equal(report.code, 'ERR_CHAIN_REVOKED', time.toISOString());
      assert.match(signer!.reason!, /not before the revocation/);
    }
  });

  it('rejects when the earlier checkpoint does not hold the leaf, or states no time (ERR_CHAIN_REVOKED)', async () => {
    const { log, report } = await verify(withEarlier(await earlier(4, BEFORE)));
    assert.equal(report.code, 'ERR_CHAIN_REVOKED');
    assert.equal(log.loggedAt[1]?.toISOString(), HEAD_TIME.toISOString());
    assert.equal(log.loggedAt[0]?.toISOString(), BEFORE.toISOString(), 'the birth at leaf 2 is held');
    const untimed = { checkpoint: await checkpoint(5, undefined), consistency: consistencyProof(nodes, 5, SIZE).hashes };
    assert.equal((await verify(withEarlier(untimed))).report.code, 'ERR_CHAIN_REVOKED');
  });

  it('rejects a tampered consistency proof or an earlier checkpoint by another key, and reports it', async () => {
    const good = await earlier(5, BEFORE);
    const flipped = good.consistency.map((h, i) => (i === 0 ? Uint8Array.from(h, (b, j) => (j === 0 ? b ^ 1 : b)) : h));
    const tampered = await verify(withEarlier({ ...good, consistency: flipped }));
    assert.equal(tampered.report.code, 'ERR_CHAIN_REVOKED');
    assert.equal(tampered.log.checks.find((c) => c.name === 'log earlier checkpoint 0')?.code, 'ERR_VERIFY_LOG_CONSISTENCY');
    const other = await provider.generateKeyPair('P-256');
    const forged = { checkpoint: await checkpoint(5, BEFORE, other), consistency: good.consistency };
    const byOther = await verify(withEarlier(forged));
    assert.equal(byOther.report.code, 'ERR_CHAIN_REVOKED');
    assert.equal(byOther.log.checks.find((c) => c.name === 'log earlier checkpoint 0')?.code, 'ERR_VERIFY_LOG_CHECKPOINT');
  });

  it('rejects an attestation signed at or after the revocation, whatever the log says (ERR_CHAIN_REVOKED)', async () => {
    const revokedAt = new Date('2026-11-30T00:00:00Z');
    const { report, signer } = await verify(withEarlier(await earlier(5, new Date('2026-11-29T00:00:00Z'))), revokedAt);
    assert.equal(report.code, 'ERR_CHAIN_REVOKED');
    assert.match(signer!.reason!, /signed at 2026-12-01T09:30:00Z, not before the revocation/);
  });

  it('still rejects a revoked device certificate, whatever the log proves (ERR_CHAIN_REVOKED)', async () => {
    const { report } = await verify(withEarlier(await earlier(5, BEFORE)), R, 'device');
    assert.equal(report.code, 'ERR_CHAIN_REVOKED');
    assert.equal(report.checks.find((c) => !c.ok)?.name, 'device: certificate path');
  });

  it('compares in whole seconds, strictly', () => {
    const revoked = fail('attestation 1: signer revocation', 'ERR_CHAIN_REVOKED', 'serial 01 revoked on 2026-12-05T00:00:00.000Z', 1);
    const check = (signingTime: Date, loggedAt: Date | undefined) => revokedSignerCheck({ revoked, revokedAt: R, signingTime, loggedAt }, 1);
    const second = new Date(R.getTime() - 1000);
    assert.equal(check(second, second).ok, true);
    assert.equal(check(second, R).code, 'ERR_CHAIN_REVOKED');
    assert.equal(check(R, second).code, 'ERR_CHAIN_REVOKED');
    assert.equal(check(second, undefined).code, 'ERR_CHAIN_REVOKED');
  });

  it('takes an earlier invalidityDate as the revocation time, and none that does not parse', () => {
    const invalidity = (value: Uint8Array) => ({ serialHex: '01', revocationDate: R, extensions: [{ oid: '2.5.29.24', critical: false, value }] });
    assert.equal(revocationTime({ serialHex: '01', revocationDate: R, extensions: [] })?.toISOString(), R.toISOString());
    assert.equal(revocationTime(invalidity(generalizedTime(BEFORE)))?.toISOString(), BEFORE.toISOString());
    assert.equal(revocationTime(invalidity(generalizedTime(AFTER)))?.toISOString(), R.toISOString());
    assert.equal(revocationTime(invalidity(Uint8Array.of(0x18, 0x01, 0x30))), undefined);
  });

  it('round-trips log.earlier through the bundle text, which omits it when empty and refuses it malformed', async () => {
    const b = withEarlier(await earlier(5, BEFORE));
    const text = encodeBundle(b);
    assert.deepEqual(parseBundle(text).log, b.log);
    assert.equal(encodeBundle(withEarlier()), encodeBundle(base), 'an empty list costs no byte');
    assert.equal(encodeBundle(base).includes('"earlier"'), false);
    const json = JSON.parse(text);
    const refuse = (mutate: (j: any) => void) => {
      // eslint-disable-line @typescript-eslint/no-explicit-any
      const j = structuredClone(json);
      mutate(j);
      assert.throws(() => parseBundle(JSON.stringify(j)), { code: 'ERR_BUNDLE_MALFORMED' });
    };
    refuse((j) => (j.log.earlier = []));
    refuse((j) => (j.log.earlier[0].extra = 1));
    refuse((j) => delete j.log.earlier[0].consistency);
    refuse((j) => (j.log.earlier[0].consistency[0] = 'AAAA'));
    refuse((j) => (j.log.earlier[0].checkpoint = ''));
  });
});
