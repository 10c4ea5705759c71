/**
 * The transparency log end to end, with the built CLI: a manufacturer's store logs births and handoffs, signs
 * checkpoints, proves inclusion and consistency; its bundles carry the proofs; a customer's `devices verify`
 * checks them with the log's verifier key, a retail policy requires them, and the customer's store remembers
 * the checkpoint it saw, so that a forked log (same size, other root, same key) is caught.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MemoryNodeStore,
  MerkleLog,
  inclusionProof,
  leafHash,
  parseCheckpoint,
  parseVerifierKey,
  signCheckpoint,
  toBase64,
  verifyCheckpoint,
  verifyConsistency,
  verifyInclusion,
} from '@custody/core';
import { NodeCryptoProvider } from '@custody/core/node';
import { EmbeddedStore, readPrivateKeyFile } from '@custody/store';
import { custodyJSON, type CLIRun } from './e2e-helpers.js';

const PASS = 'log test passphrase';
const provider = new NodeCryptoProvider();
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

describe('transparency log (CLI end to end)', function () {
  this.timeout(180_000);
  let tmp: string;
  let m: string;
  let v: string;
  const cli = (...args: string[]): CLIRun => custodyJSON(args, { env: { CUSTODY_PASSPHRASE: PASS }, cwd: tmp });
  const ok = (...args: string[]): CLIRun => {
    const r = cli(...args);
    assert.equal(r.status, 0, `custody ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  const verify = (bundle: string, ...extra: string[]) =>
    cli('devices', 'verify', '--store', v, '--bundle', bundle, '--trust', join(tmp, 'root.pem'), '--policy', 'retail', '--json', ...extra);

  before(function () {
    tmp = mkdtempSync(join(tmpdir(), 'custody-log-e2e-'));
    m = join(tmp, 'acme');
    v = join(tmp, 'fabrikam');
    const S = ['--store', m];
    ok('init', ...S);
    ok('init', '--store', v);
    ok('ca', 'create', ...S, '--name', 'acme-root', '--organization', 'Acme');
    ok('ca', 'create', ...S, '--name', 'acme-issuing', '--issuer', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', ...S, '--name', 'factory', '--ca', 'acme-root', '--organization', 'Acme');
    ok('parties', 'create', ...S, '--name', 'integrator', '--ca', 'acme-root', '--organization', 'Acme');
    const init = ok('log', 'init', ...S, '--origin', 'acme.example/log', '--json');
    assert.equal(init.json.data.origin, 'acme.example/log');
    assert.equal(readFileSync(join(m, 'log.pub'), 'utf8').trim(), init.json.data.verifierKey);
    // What the retail policy asks for, attested at birth and at integration.
    writeFileSync(
      join(tmp, 'birth.json'),
      JSON.stringify({ deviceIdentity: { idevid: true }, secureBoot: { enabled: true }, debugPorts: { state: 'locked' }, authentication: { enabled: true } }),
    );
    writeFileSync(join(tmp, 'integration.json'), JSON.stringify({ signedUpdates: { enabled: true } }));
    ok(
      'devices',
      'provision',
      ...S,
      '--ca',
      'acme-issuing',
      '--generate',
      '4',
      '--party',
      'factory',
      '--to',
      'integrator',
      '--claims',
      join(tmp, 'birth.json'),
      '--out',
      join(tmp, 'devices'),
    );
    ok('devices', 'handoff', ...S, '--serial', 'SN000001', '--party', 'integrator', '--to', 'factory', '--claims', join(tmp, 'integration.json'));
    ok('devices', 'handoff', ...S, '--serial', 'SN000001', '--party', 'factory', '--to', 'integrator');
    const doc = JSON.parse(readFileSync(join(m, 'store.json'), 'utf8'));
    writeFileSync(join(tmp, 'root.pem'), doc.cas['acme-root'].certificate);
  });
  after(function () {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('log checkpoint signs the tree head with the log key', async function () {
    const r = ok('log', 'checkpoint', '--store', m, '--out', join(tmp, 'cp.txt'), '--json');
    assert.equal(r.json.data.treeSize, 6);
    assert.equal(readFileSync(join(tmp, 'cp.txt'), 'utf8'), r.json.data.checkpoint);
    const key = parseVerifierKey(readFileSync(join(m, 'log.pub'), 'utf8').trim());
    const { checkpoint } = await verifyCheckpoint(r.json.data.checkpoint, [key], provider);
    assert.equal(checkpoint.origin, 'acme.example/log');
    assert.equal(toBase64(checkpoint.rootHash), r.json.data.rootHash);
    // Without --json, the signed note itself.
    assert.equal(ok('log', 'checkpoint', '--store', m).stdout.startsWith('acme.example/log\n6\n'), true);
  });

  it('log prove gives inclusion proofs that verify against the checkpoint', async function () {
    const r = ok('log', 'prove', '--store', m, '--serial', 'SN000001', '--json');
    const root = parseCheckpoint(r.json.data.checkpoint).checkpoint.rootHash;
    const store = await EmbeddedStore.open(m);
    const device = (await store.getDevice('SN000001'))!;
    await store.close();
    assert.equal(r.json.data.proofs.length, 3);
    for (const p of r.json.data.proofs) {
      verifyInclusion(leafHash(device.attestations[p.seq]!), { leafIndex: p.leafIndex, treeSize: p.treeSize, hashes: p.hashes.map(b64) }, root);
    }
    const bad = cli('log', 'prove', '--store', m, '--serial', 'SN000001', '--seq', '3', '--json');
    assert.equal(bad.status, 2);
    assert.equal(bad.json.error.code, 'ERR_USAGE_LOG_SEQ');
  });

  it('log consistency proves an older tree is a prefix of the newer', async function () {
    const old = ok('log', 'checkpoint', '--store', m, '--size', '3', '--json').json.data;
    const now = ok('log', 'checkpoint', '--store', m, '--json').json.data;
    const r = ok('log', 'consistency', '--store', m, '--old', '3', '--json').json.data;
    assert.equal(r.newSize, now.treeSize);
    verifyConsistency({ oldSize: 3, newSize: r.newSize, hashes: r.hashes.map(b64) }, b64(old.rootHash), b64(now.rootHash));
    assert.throws(() => verifyConsistency({ oldSize: 3, newSize: r.newSize, hashes: r.hashes.map(b64) }, b64(now.rootHash), b64(now.rootHash)), {
      code: 'ERR_LOG_CONSISTENCY',
    });
  });

  it('exported bundles carry a checkpoint and one proof per attestation', function () {
    const r = ok('devices', 'export', '--store', m, '--serial', 'SN000001', '--out', join(tmp, 'b1.json'), '--json');
    const bundle = JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8'));
    assert.equal(bundle.log.proofs.length, 3);
    assert.deepEqual(
      bundle.log.proofs.map((p: { attestation: number }) => p.attestation),
      [0, 1, 2],
    );
    const { log: _log, ...bare } = bundle;
    const without = Buffer.byteLength(JSON.stringify(bare));
    console.log(
      `      3-attestation bundle: ${r.json.data.bundles[0].bytes} bytes with log proofs (tree of 6), ${without} without: +${r.json.data.bundles[0].bytes - without}`,
    );
  });

  it('devices verify --log-key accepts the bundle under the retail policy, and remembers the checkpoint', function () {
    const r = verify(join(tmp, 'b1.json'), '--log-key', join(m, 'log.pub'));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.json.data.accepted, true);
    const names = r.json.data.results[0].checks.map((c: { name: string }) => c.name);
    for (const n of ['log checkpoint', 'log inclusion 0', 'log inclusion 1', 'log inclusion 2', 'log consistency']) assert.ok(names.includes(n), n);
    const seen = JSON.parse(readFileSync(join(v, 'store.json'), 'utf8')).checkpoints['acme.example/log'];
    assert.equal(seen, JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8')).log.checkpoint);
  });

  it('without --log-key the proofs are unverified and retail rejects', function () {
    const r = verify(join(tmp, 'b1.json'));
    assert.equal(r.status, 1);
    assert.equal(r.json.data.results[0].code, 'ERR_POLICY_LOG_INCLUSION');
  });

  it('rejects a tampered proof hash', function () {
    const bundle = JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8'));
    const h: string = bundle.log.proofs[1].hashes[0];
    bundle.log.proofs[1].hashes[0] = (h[0] === 'A' ? 'B' : 'A') + h.slice(1);
    writeFileSync(join(tmp, 'tampered.json'), JSON.stringify(bundle));
    const r = verify(join(tmp, 'tampered.json'), '--log-key', join(m, 'log.pub'));
    assert.equal(r.status, 1);
    assert.equal(r.json.data.results[0].code, 'ERR_VERIFY_LOG_INCLUSION');
  });

  it('rejects a checkpoint signed by another key', async function () {
    const other = await provider.generateKeyPair('P-256');
    const bundle = JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8'));
    const cp = parseCheckpoint(bundle.log.checkpoint).checkpoint;
    bundle.log.checkpoint = await signCheckpoint(cp, { name: 'acme.example/log', key: other.privateKey }, provider);
    writeFileSync(join(tmp, 'other-key.json'), JSON.stringify(bundle));
    const r = verify(join(tmp, 'other-key.json'), '--log-key', join(m, 'log.pub'));
    assert.equal(r.status, 1);
    assert.equal(r.json.data.results[0].code, 'ERR_VERIFY_LOG_CHECKPOINT');
  });

  it('rejects a forked log: same size, another root, signed by the same key', async function () {
    // The fork: the same log with another device's birth replaced, so SN000001's own proofs still verify.
    const store = await EmbeddedStore.open(m);
    const size = JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8')).log.proofs[0].treeSize as number;
    const mine = new Set<number>();
    for (let seq = 0; seq < 3; seq++) mine.add((await store.logLeafIndex('SN000001', seq))!);
    const nodes = new MemoryNodeStore();
    const forked = new MerkleLog();
    for (let i = 0; i < size; i++)
      nodes.put(mine.has(i) ? forked.appendLeafHash(store.logNodes().get(0, i)!) : forked.appendEntry(Buffer.from(`forged entry ${i}`)));
    await store.close();
    const key = readPrivateKeyFile(join(m, 'keys', 'log.key.pem'), PASS);
    const bundle = JSON.parse(readFileSync(join(tmp, 'b1.json'), 'utf8'));
    bundle.log.checkpoint = await signCheckpoint(
      { origin: 'acme.example/log', treeSize: size, rootHash: forked.root(), extensions: [] },
      { name: 'acme.example/log', key },
      provider,
    );
    bundle.log.proofs = bundle.log.proofs.map((p: { attestation: number; leafIndex: number }) => ({
      ...p,
      hashes: inclusionProof(nodes, p.leafIndex, size).hashes.map(toBase64),
    }));
    writeFileSync(join(tmp, 'forked.json'), JSON.stringify(bundle));
    const r = verify(join(tmp, 'forked.json'), '--log-key', join(m, 'log.pub'));
    assert.equal(r.status, 1, r.stdout);
    const checks = r.json.data.results[0].checks as Array<{ name: string; ok: boolean; code?: string }>;
    assert.ok(
      checks.filter((c) => c.name.startsWith('log inclusion')).every((c) => c.ok),
      'the forged proofs are self-consistent',
    );
    assert.equal(r.json.data.results[0].code, 'ERR_VERIFY_LOG_FORK');
  });

  it('checks a grown log against the remembered checkpoint with --log-consistency', function () {
    const seenSize = parseCheckpoint(JSON.parse(readFileSync(join(v, 'store.json'), 'utf8')).checkpoints['acme.example/log']).checkpoint.treeSize;
    ok(
      'devices',
      'provision',
      '--store',
      m,
      '--ca',
      'acme-issuing',
      '--generate',
      '2',
      '--start',
      '100',
      '--party',
      'factory',
      '--to',
      'integrator',
      '--out',
      join(tmp, 'devices2'),
    );
    ok('devices', 'export', '--store', m, '--serial', 'SN000001', '--out', join(tmp, 'b1-grown.json'));
    const proof = ok('log', 'consistency', '--store', m, '--old', String(seenSize), '--out', join(tmp, 'consistency.json'), '--json').json.data;
    // A bad proof first (it must not move the remembered checkpoint).
    writeFileSync(join(tmp, 'bad-consistency.json'), JSON.stringify({ ...proof, hashes: [...proof.hashes].reverse() }));
    const bad = verify(join(tmp, 'b1-grown.json'), '--log-key', join(m, 'log.pub'), '--log-consistency', join(tmp, 'bad-consistency.json'));
    assert.equal(bad.status, 1);
    assert.equal(bad.json.data.results[0].code, 'ERR_VERIFY_LOG_CONSISTENCY');
    const good = verify(join(tmp, 'b1-grown.json'), '--log-key', join(m, 'log.pub'), '--log-consistency', join(tmp, 'consistency.json'));
    assert.equal(good.status, 0, good.stdout);
    const check = good.json.data.results[0].checks.find((c: { name: string }) => c.name === 'log consistency');
    assert.match(check.reason, /^consistent with/);
    const seen = parseCheckpoint(JSON.parse(readFileSync(join(v, 'store.json'), 'utf8')).checkpoints['acme.example/log']).checkpoint.treeSize;
    assert.equal(seen, proof.newSize);
  });
});
