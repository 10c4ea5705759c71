/**
 * The one verifier's evidence from outside the bundle's signatures: the log part (trusted keys bound to their
 * log, consistency with the checkpoint the verifier remembers), the proof of possession (read from the verifier's
 * own challenge record), the expected custodian, and the order of the report (root causes before the policy).
 *
 * The log: 8 leaves, the device's three attestations at 1, 3 and 5.
 */
import assert from 'node:assert/strict';
import type { Bundle } from '../../src/bundle/bundle-model.js';
import { createBundle } from '../../src/bundle/create-bundle.js';
import { encodeBundle } from '../../src/bundle/encode-bundle.js';
import { rebuildAttestation } from '../../src/bundle/rebuild-attestation.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { parseCheckpoint, signCheckpoint } from '../../src/log/checkpoint.js';
import { consistencyProof } from '../../src/log/consistency.js';
import { inclusionProof } from '../../src/log/inclusion.js';
import { MerkleLog } from '../../src/log/merkle-log.js';
import { MemoryNodeStore } from '../../src/log/node-store.js';
import { createVerifierKey, type VerifierKey } from '../../src/log/verifier-key.js';
import { createChallenge, respondToChallenge, type IssuedChallenge } from '../../src/possession/challenge.js';
import { toHex } from '../../src/util/bytes.js';
import type { CheckpointMemory } from '../../src/verification/checkpoint-memory.js';
import { createVerifier, type VerifierOptions, type VerifyOptions } from '../../src/verification/verifier.js';
import { parsePolicy } from '../../src/workflow/policy.js';
import { AT, makeWorld, provider, sha256hex, type World } from './fixtures.js';

const ORIGIN = 'log.acme.example/custody';
const SIZE = 8;
const LEAVES: Record<number, number> = { 1: 0, 3: 1, 5: 2 };

/** A memory of seen checkpoints, as a store keeps it. */
class Memory implements CheckpointMemory {
  readonly seen = new Map<string, string>();
  async getSeenCheckpoint(origin: string) {
    return this.seen.get(origin);
  }
  async putSeenCheckpoint(origin: string, note: string) {
    this.seen.set(origin, note);
  }
}

const sizeOf = (note: string | undefined) => (note === undefined ? undefined : parseCheckpoint(note).checkpoint.treeSize);

describe('verifier: evidence from outside the signatures', () => {
  let w: World;
  let logKeys: KeyPair;
  let trusted: VerifierKey;
  let nodes: MemoryNodeStore;
  const roots: Uint8Array[] = [];
  let plain: Bundle;
  /** The bundle with a checkpoint of `size` leaves (at least 6, so that it holds all three attestations). */
  let at: (size: number) => Promise<Bundle>;

  const checkpoint = (size: number, origin = ORIGIN, keyName = ORIGIN, key = logKeys) =>
    signCheckpoint({ origin, treeSize: size, rootHash: roots[size]!, extensions: [] }, { name: keyName, key: key.privateKey }, provider);
  const verifier = (more: Partial<VerifierOptions> = {}) => createVerifier({ trustAnchors: w.trustAnchors, provider, at: AT, logKeys: [trusted], ...more });
  const first = (r: { checks: readonly { ok: boolean; name: string; code?: string }[] }) => r.checks.find((c) => !c.ok);

  before(async () => {
    w = await makeWorld();
    logKeys = await provider.generateKeyPair('P-256');
    trusted = createVerifierKey(ORIGIN, logKeys.publicKey.spki);
    plain = createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain });
    nodes = new MemoryNodeStore();
    const log = new MerkleLog();
    roots.push(log.root());
    for (let i = 0; i < 16; i++) {
      const att = LEAVES[i];
      nodes.put(
        log.appendEntry(
          att === undefined ? new TextEncoder().encode(`another device's attestation ${i}`) : rebuildAttestation(plain.attestations[att]!, plain.certificates),
        ),
      );
      roots.push(log.root());
    }
    at = async (size) => ({
      ...plain,
      log: {
        checkpoint: await checkpoint(size),
        proofs: Object.entries(LEAVES).map(([leaf, attestation]) => ({ attestation, ...inclusionProof(nodes, Number(leaf), size) })),
      },
    });
  });

  describe('log', () => {
    it('accepts a bundle whose checkpoint is signed by the trusted key of its own log', async () => {
      const r = await verifier().verify(await at(SIZE));
      assert.equal(r.ok, true, JSON.stringify(first(r)));
      assert.ok(r.checks.some((c) => c.name === 'log inclusion 2' && c.ok));
    });

    it('refuses a trusted key of one log signing a checkpoint that names another log, and remembers nothing of it', async () => {
      const other = createVerifierKey('log.other.example/custody', logKeys.publicKey.spki);
      const b = await at(SIZE);
      const renamed = { ...b, log: { ...b.log!, checkpoint: await checkpoint(SIZE, 'log.victim.example/custody', 'log.other.example/custody') } };
      const memory = new Memory();
      const r = await verifier({ logKeys: [other] }).verify(renamed, { checkpoints: memory });
      assert.equal(r.code, 'ERR_VERIFY_LOG_CHECKPOINT');
      assert.match(first(r)!.name, /^log checkpoint$/);
      assert.match(JSON.stringify(r.checks), /names log \\"log.victim.example\/custody\\", but is signed by the key of \\"log.other.example\/custody\\"/);
      assert.equal(memory.seen.size, 0);
    });

    it('checks the log part of a bundle without a trusted key too: a changed proof hash fails, the unchanged part proves nothing', async () => {
      const b = await at(SIZE);
      const v = verifier({ logKeys: [] });
      const ok = await v.verify(b);
      assert.equal(ok.ok, true, JSON.stringify(first(ok)));
      assert.match(ok.checks.find((c) => c.name === 'log checkpoint')!.reason!, /not verified: no trusted log key/);
      const proofs = b.log!.proofs.map((p, i) =>
        i === 1 ? { ...p, hashes: p.hashes.map((h, k) => (k === 0 ? Uint8Array.from(h, (x, j) => (j === 31 ? x ^ 0x80 : x)) : h)) } : p,
      );
      const r = await v.verify({ ...b, log: { ...b.log!, proofs } });
      assert.equal(r.code, 'ERR_VERIFY_LOG_INCLUSION');
      // The same, through the bundle text: every byte of the log part is checked.
      const text = encodeBundle({ ...b, log: { ...b.log!, proofs } });
      assert.equal((await v.verify(text)).code, 'ERR_VERIFY_LOG_INCLUSION');
      const retail = parsePolicy('name: t\nlogInclusion: required\n', 'inline.yaml');
      assert.equal((await verifier({ logKeys: [], policy: retail }).verify(b)).code, 'ERR_POLICY_LOG_INCLUSION', 'an unverified log proves no inclusion');
    });

    it('remembers the first checkpoint and accepts the same tree again', async () => {
      const memory = new Memory();
      const v = verifier();
      assert.equal((await v.verify(await at(SIZE), { checkpoints: memory })).ok, true);
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), SIZE);
      const again = await v.verify(await at(SIZE), { checkpoints: memory });
      assert.equal(again.ok, true);
      assert.match(again.checks.find((c) => c.name === 'log consistency')!.reason!, /same tree/);
    });

    it('rejects a larger checkpoint without a consistency proof and keeps the remembered one (ERR_VERIFY_LOG_CONSISTENCY)', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(SIZE), { checkpoints: memory });
      const r = await v.verify(await at(12), { checkpoints: memory });
      assert.equal(r.code, 'ERR_VERIFY_LOG_CONSISTENCY');
      assert.match(first(r)!.reason!, /--log-consistency with a proof from 8 to 12 entries/);
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), SIZE, 'the remembered head stays');
    });

    it('rejects a smaller checkpoint without a proof too: an unproven tree of another size may be a fork', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(12), { checkpoints: memory });
      assert.equal((await v.verify(await at(SIZE), { checkpoints: memory })).code, 'ERR_VERIFY_LOG_CONSISTENCY');
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), 12);
    });

    it('accepts a larger checkpoint with a proof from the operator and remembers it; refuses a bad proof', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(SIZE), { checkpoints: memory });
      const good = consistencyProof(nodes, SIZE, 12);
      const bad = { ...good, hashes: good.hashes.map((h, k) => (k === 0 ? Uint8Array.from(h, (x, j) => (j === 0 ? x ^ 1 : x)) : h)) };
      assert.equal((await v.verify(await at(12), { checkpoints: memory, consistency: [bad] })).code, 'ERR_VERIFY_LOG_CONSISTENCY');
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), SIZE);
      const r = await v.verify(await at(12), { checkpoints: memory, consistency: [good] });
      assert.equal(r.ok, true, JSON.stringify(first(r)));
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), 12);
      // An older bundle, proven by the same kind of proof, is accepted and moves nothing back.
      assert.equal((await v.verify(await at(SIZE), { checkpoints: memory, consistency: [good] })).ok, true);
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), 12);
    });

    it('accepts a larger checkpoint proven by the bundle itself (its earlier checkpoint is the remembered tree)', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(SIZE), { checkpoints: memory });
      const b = await at(12);
      const withEarlier = {
        ...b,
        log: { ...b.log!, earlier: [{ checkpoint: await checkpoint(SIZE), consistency: consistencyProof(nodes, SIZE, 12).hashes }] },
      };
      const r = await v.verify(withEarlier, { checkpoints: memory });
      assert.equal(r.ok, true, JSON.stringify(first(r)));
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), 12);
    });

    it('takes a proof from a memory that keeps the log itself, and verifies it like any other', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(SIZE), { checkpoints: memory });
      const own = Object.assign(memory, {
        consistencyProof: async (origin: string, a: number, b: number) => (origin === ORIGIN ? consistencyProof(nodes, a, b) : undefined),
      });
      assert.equal((await v.verify(await at(12), { checkpoints: own })).ok, true);
      const lying = Object.assign(new Memory(), {
        consistencyProof: async (_o: string, a: number, b: number) => ({ ...consistencyProof(nodes, a, b), hashes: [] }),
      });
      lying.seen.set(ORIGIN, await checkpoint(SIZE));
      assert.equal((await v.verify(await at(12), { checkpoints: lying })).code, 'ERR_VERIFY_LOG_CONSISTENCY');
    });

    it('rejects a larger tree dated before the remembered smaller one, even with a valid proof: a backdated tree head', async () => {
      const dated = (size: number, time: Date) =>
        signCheckpoint({ origin: ORIGIN, treeSize: size, rootHash: roots[size]!, time, extensions: [] }, { name: ORIGIN, key: logKeys.privateKey }, provider);
      const memory = new Memory();
      memory.seen.set(ORIGIN, await dated(SIZE, new Date('2026-12-20T00:00:00Z')));
      const b = await at(12);
      const backdated = { ...b, log: { ...b.log!, checkpoint: await dated(12, new Date('2026-12-01T00:00:00Z')) } };
      const r = await verifier().verify(backdated, { checkpoints: memory, consistency: [consistencyProof(nodes, SIZE, 12)] });
      assert.equal(r.code, 'ERR_VERIFY_LOG_CONSISTENCY');
      assert.match(first(r)!.reason!, /the log's time went backwards/);
      assert.equal(sizeOf(memory.seen.get(ORIGIN)), SIZE);
      // The same inside one bundle: an earlier checkpoint dated after the bundle's own.
      const inside = {
        ...backdated,
        log: {
          ...backdated.log,
          earlier: [{ checkpoint: await dated(SIZE, new Date('2026-12-20T00:00:00Z')), consistency: consistencyProof(nodes, SIZE, 12).hashes }],
        },
      };
      const r2 = await verifier().verify(inside);
      assert.equal(r2.checks.find((c) => c.name === 'log earlier checkpoint 0')?.code, 'ERR_VERIFY_LOG_CONSISTENCY');
    });

    it('rejects a forked log: the remembered size with another root (ERR_VERIFY_LOG_FORK)', async () => {
      const memory = new Memory();
      const v = verifier();
      await v.verify(await at(SIZE), { checkpoints: memory });
      const forked = await signCheckpoint(
        { origin: ORIGIN, treeSize: SIZE, rootHash: new Uint8Array(32).fill(7), extensions: [] },
        { name: ORIGIN, key: logKeys.privateKey },
        provider,
      );
      memory.seen.set(ORIGIN, forked);
      assert.equal((await v.verify(await at(SIZE), { checkpoints: memory })).code, 'ERR_VERIFY_LOG_FORK');
    });

    it('puts a failed log check before the policy check that depends on it', async () => {
      const b = await at(SIZE);
      const proofs = b.log!.proofs.map((p) => ({ ...p, hashes: [...p.hashes].reverse() }));
      const r = await verifier({ policy: parsePolicy('name: t\nlogInclusion: required\n', 'inline.yaml') }).verify({ ...b, log: { ...b.log!, proofs } });
      assert.equal(r.code, 'ERR_VERIFY_LOG_INCLUSION');
      const names = r.checks.map((c) => c.name);
      assert.ok(names.indexOf('log inclusion 0') < names.findIndex((n) => n.startsWith('policy')));
    });
  });

  describe('proof of possession', () => {
    /** A challenge this verifier issued for `idevid`, and the device's answer with `key`. */
    async function challenge(idevid: Uint8Array, key = w.device.keys.privateKey, ttl = 300) {
      const nonce = provider.randomBytes(32);
      const { bytes } = createChallenge({ device: 'SN000042', idevidSha256: sha256hex(idevid), nonce, now: new Date(AT.getTime() - 60_000), ttlSeconds: ttl });
      const issued = new Map<string, IssuedChallenge>([[toHex(nonce), { bytes, used: false }]]);
      const records = { readChallenge: async (n: string) => issued.get(n) };
      return { response: await respondToChallenge(bytes, key, provider), records, issued, nonceHex: toHex(nonce) };
    }
    const possession = parsePolicy('name: t\nproofOfPossession: required\nlogInclusion: optional\nrevocationCheck: optional\n', 'inline.yaml');

    it('accepts the device key, names the challenge it answered, and spends nothing', async () => {
      const c = await challenge(w.device.der);
      const v = verifier({ policy: possession, logKeys: [] });
      const opts: VerifyOptions = { possession: { response: c.response, records: c.records } };
      const r = await v.verify(plain, opts);
      assert.equal(r.ok, true, JSON.stringify(first(r)));
      assert.equal(r.challenge, c.nonceHex);
      assert.equal((await v.verify(plain, opts)).ok, true, 'verification reads: a second one passes too');
    });

    it('puts a failed proof of possession before the policy that requires it', async () => {
      const other = await provider.generateKeyPair('P-256');
      const c = await challenge(w.device.der, other.privateKey);
      const r = await verifier({ policy: possession, logKeys: [] }).verify(plain, { possession: { response: c.response, records: c.records } });
      assert.equal(r.code, 'ERR_VERIFY_POSSESSION_SIGNATURE');
      assert.equal(r.challenge, undefined);
    });

    it('refuses a response to a challenge spent by an activation (ERR_VERIFY_POSSESSION_REPLAY)', async () => {
      const c = await challenge(w.device.der);
      c.issued.set(c.nonceHex, { ...c.issued.get(c.nonceHex)!, used: true });
      assert.equal(
        (await verifier({ logKeys: [] }).verify(plain, { possession: { response: c.response, records: c.records } })).code,
        'ERR_VERIFY_POSSESSION_REPLAY',
      );
    });

    it('refuses a challenge issued for another device, answered by this device (ERR_VERIFY_POSSESSION_DEVICE)', async () => {
      const c = await challenge(w.reseller.der);
      assert.equal(
        (await verifier({ logKeys: [] }).verify(plain, { possession: { response: c.response, records: c.records } })).code,
        'ERR_VERIFY_POSSESSION_DEVICE',
      );
    });
  });

  describe('expected custodian', () => {
    const cutShort = () => createBundle({ certificate: w.device.der, chain: [w.acmeIssuing.der], attestations: w.chain.slice(0, 2) });

    it('names the expected custodian as a party when its certificate is given', async () => {
      const r = await verifier({ logKeys: [] }).verify(plain, { expectedCustodian: { certificate: w.customer.der } });
      assert.equal(r.ok, true, JSON.stringify(first(r)));
      assert.equal(r.custodianParty?.spkiSha256, w.customer.spkiSha256);
      assert.match(r.custodianParty!.subject, /Fabrikam Receiving/);
    });

    it('rejects a chain cut short at an earlier custodian (ERR_VERIFY_CUSTODIAN), naming who was expected', async () => {
      const r = await verifier({ logKeys: [] }).verify(cutShort(), { expectedCustodian: { certificate: w.customer.der } });
      assert.equal(r.code, 'ERR_VERIFY_CUSTODIAN');
      assert.match(first(r)!.reason!, /not to the expected custodian "Fabrikam Hospital"/);
      assert.equal(r.custodian, w.reseller.spkiSha256);
    });

    it('refuses an expected custodian certificate that is no trusted attestation party', async () => {
      const r = await verifier({ logKeys: [] }).verify(plain, { expectedCustodian: { certificate: w.acmeIssuing.der } });
      assert.equal(r.code, 'ERR_VERIFY_CUSTODIAN');
      assert.match(first(r)!.reason!, /not a trusted attestation party/);
    });
  });
});
