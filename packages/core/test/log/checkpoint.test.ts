import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCheckpoint, parseCheckpoint, parseCheckpointText, signCheckpoint, verifyCheckpoint, type Checkpoint } from '../../src/log/checkpoint.js';
import { parseSignedNote, encodeSignedNote } from '../../src/log/signed-note.js';
import { createVerifierKey, parseVerifierKey, encodeVerifierKey, type VerifierKey } from '../../src/log/verifier-key.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { fromBase64, toBase64 } from '../../src/util/bytes.js';
import { buildLog, nodeSha256 } from './helpers.js';

const ORIGIN = 'log.custody.example/factory';
const MALFORMED = { code: 'ERR_LOG_CHECKPOINT' };
const SIGNATURE = { code: 'ERR_LOG_CHECKPOINT_SIGNATURE', category: 'rejected' };

describe('checkpoints (c2sp.org/tlog-checkpoint)', () => {
  const crypto = new NodeCryptoProvider();
  let keys: KeyPair;
  let other: KeyPair;
  let trusted: VerifierKey;
  let cp: Checkpoint;

  before(async () => {
    keys = await crypto.generateKeyPair('P-256');
    other = await crypto.generateKeyPair('P-256');
    trusted = parseVerifierKey(encodeVerifierKey(createVerifierKey(ORIGIN, keys.publicKey.spki)));
    const { roots } = buildLog(20, nodeSha256);
    cp = { origin: ORIGIN, treeSize: 20, rootHash: roots[20]!, extensions: [] };
  });

  it('encodes the three body lines and parses them back', () => {
    const text = encodeCheckpoint(cp);
    assert.equal(text, `${ORIGIN}\n20\n${toBase64(cp.rootHash)}\n`);
    assert.deepEqual(parseCheckpointText(text), cp);
    const withExt = { ...cp, extensions: ['ext one', 'ext two'] };
    assert.deepEqual(parseCheckpointText(encodeCheckpoint(withExt)), withExt);
    const empty = { ...cp, treeSize: 0, rootHash: nodeSha256(new Uint8Array(0)) };
    assert.equal(encodeCheckpoint(empty).split('\n')[1], '0');
  });

  it('signs with a P-256 key and verifies against the trusted verifier key', async () => {
    const note = await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto);
    const lines = note.split('\n');
    assert.equal(lines[3], '');
    assert.match(lines[4]!, new RegExp(`^\u2014 ${ORIGIN.replace(/\./g, '\\.')} [A-Za-z0-9+/=]+$`));
    const parsed = parseCheckpoint(note);
    assert.deepEqual(parsed.checkpoint, cp);
    assert.equal(parsed.signatures[0]!.keyId, trusted.keyId);
    const verified = await verifyCheckpoint(note, [trusted], crypto, { origin: ORIGIN });
    assert.deepEqual(verified, { checkpoint: cp, verifiedBy: [ORIGIN] });
  });

  it('writes a DER ECDSA signature over SHA-256 of the text that openssl verifies', async () => {
    const note = await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto);
    const { text, signatures } = parseSignedNote(note);
    const dir = mkdtempSync(join(tmpdir(), 'custody-checkpoint-'));
    try {
      const pem = `-----BEGIN PUBLIC KEY-----\n${toBase64(keys.publicKey.spki).replace(/.{64}/g, '$&\n')}\n-----END PUBLIC KEY-----\n`;
      writeFileSync(join(dir, 'pub.pem'), pem.replace('\n\n', '\n'));
      writeFileSync(join(dir, 'sig.der'), signatures[0]!.signature);
      writeFileSync(join(dir, 'text'), text);
      const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(dir, 'pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'text')]);
      assert.match(out.toString(), /Verified OK/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with its code when any line is tampered with', async () => {
    const note = await signCheckpoint({ ...cp, extensions: ['ext'] }, { name: ORIGIN, key: keys.privateKey }, crypto);
    const lines = note.split('\n');
    const otherRoot = toBase64(nodeSha256(Uint8Array.of(1)));
    const sigBytes = fromBase64(lines[5]!.split(' ')[2]!)!;
    const flipped = sigBytes.slice();
    flipped[sigBytes.length - 3]! ^= 1;
    const cases: Array<[string, number, string, object]> = [
      ['origin', 0, 'log.custody.example/other', SIGNATURE],
      ['tree size', 1, '21', SIGNATURE],
      ['root hash', 2, otherRoot, SIGNATURE],
      ['extension', 3, 'exu', SIGNATURE],
      ['signature bytes', 5, `\u2014 ${ORIGIN} ${toBase64(flipped)}`, SIGNATURE],
      ['key name (no trusted signature left)', 5, lines[5]!.replace(ORIGIN, 'someone.else'), SIGNATURE],
      ['signature base64', 5, `${lines[5]!.slice(0, -2)}*=`, MALFORMED],
      // The text is read only once a trusted signature covers it, so a malformed but signed-over line is a
      // signature failure first.
      ['tree size leading zero', 1, '020', SIGNATURE],
      ['blank separator', 4, 'x', MALFORMED],
    ];
    for (const [what, i, replacement, code] of cases) {
      const tampered = lines.map((l, j) => (j === i ? replacement : l)).join('\n');
      await assert.rejects(verifyCheckpoint(tampered, [trusted], crypto), code, what);
    }
  });

  it('refuses a trusted key of one log vouching for a checkpoint that names another log (ERR_LOG_CHECKPOINT_ORIGIN)', async () => {
    // A witness or another log's key, trusted for its own name, signs a tree head that claims to be ORIGIN's.
    const witness = createVerifierKey('witness.example', other.publicKey.spki);
    const note = await signCheckpoint(cp, { name: 'witness.example', key: other.privateKey }, crypto);
    await assert.rejects(
      verifyCheckpoint(note, [witness], crypto),
      (e: { code?: string; message?: string }) =>
        e.code === 'ERR_LOG_CHECKPOINT_ORIGIN' &&
        /names log "log.custody.example\/factory", but is signed by the key of "witness.example"/.test(e.message ?? ''),
    );
    // Beside the log's own signature, the witness's is fine.
    const mine = await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto);
    const both = encodeSignedNote({ text: encodeCheckpoint(cp), signatures: [...parseSignedNote(mine).signatures, ...parseSignedNote(note).signatures] });
    assert.deepEqual((await verifyCheckpoint(both, [trusted, witness], crypto)).verifiedBy, [ORIGIN, 'witness.example']);
  });

  it('ignores unknown signers, but needs one trusted signature and every trusted one to verify', async () => {
    const mine = await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto);
    const theirs = await signCheckpoint(cp, { name: 'witness.example', key: other.privateKey }, crypto);
    const both = encodeSignedNote({ text: encodeCheckpoint(cp), signatures: [...parseSignedNote(theirs).signatures, ...parseSignedNote(mine).signatures] });
    assert.deepEqual((await verifyCheckpoint(both, [trusted], crypto)).verifiedBy, [ORIGIN]);
    // Signed by a key nobody trusts.
    await assert.rejects(verifyCheckpoint(theirs, [trusted], crypto), SIGNATURE);
    // Right name, other key: the key ID differs, so the signature is unknown, and none is left.
    const impostor = await signCheckpoint(cp, { name: ORIGIN, key: other.privateKey }, crypto);
    await assert.rejects(verifyCheckpoint(impostor, [trusted], crypto), SIGNATURE);
    // A trusted key whose signature fails rejects the note even beside a good one.
    const bad = parseSignedNote(mine).signatures[0]!;
    const broken = { ...bad, signature: parseSignedNote(impostor).signatures[0]!.signature };
    const mixed = encodeSignedNote({ text: encodeCheckpoint(cp), signatures: [...parseSignedNote(mine).signatures, broken] });
    await assert.rejects(verifyCheckpoint(mixed, [trusted], crypto), SIGNATURE);
    // A wrong origin, when one is expected.
    await assert.rejects(verifyCheckpoint(mine, [trusted], crypto, { origin: 'log.custody.example/other' }), {
      code: 'ERR_LOG_CHECKPOINT_ORIGIN',
      category: 'rejected',
    });
  });

  it('refuses a P-384 log key and an invalid checkpoint before signing', async () => {
    const p384 = await crypto.generateKeyPair('P-384');
    await assert.rejects(signCheckpoint(cp, { name: ORIGIN, key: p384.privateKey }, crypto), { code: 'ERR_KEY_ALGORITHM' });
    await assert.rejects(signCheckpoint(cp, { name: 'has space', key: keys.privateKey }, crypto), MALFORMED);
    await assert.rejects(signCheckpoint({ ...cp, rootHash: new Uint8Array(31) }, { name: ORIGIN, key: keys.privateKey }, crypto), MALFORMED);
  });

  it('refuses malformed checkpoint texts with ERR_LOG_CHECKPOINT', () => {
    const root = toBase64(cp.rootHash);
    const cases: Record<string, string> = {
      'two lines': `${ORIGIN}\n20\n`,
      'empty origin': `\n20\n${root}\n`,
      'negative size': `${ORIGIN}\n-1\n${root}\n`,
      'leading zero': `${ORIGIN}\n01\n${root}\n`,
      'exponent size': `${ORIGIN}\n1e3\n${root}\n`,
      'size with space': `${ORIGIN}\n 20\n${root}\n`,
      'size beyond 2^53': `${ORIGIN}\n9007199254740993\n${root}\n`,
      'short root': `${ORIGIN}\n20\n${toBase64(new Uint8Array(31))}\n`,
      'long root': `${ORIGIN}\n20\n${toBase64(new Uint8Array(33))}\n`,
      'unpadded base64 root': `${ORIGIN}\n20\n${root.replace(/=+$/, '')}\n`,
      'url-safe base64 root': `${ORIGIN}\n20\n${root.replace(/\+/g, '-').replace(/\//g, '_')}x\n`,
      'empty extension line': `${ORIGIN}\n20\n${root}\n\nx\n`,
      'no final newline': `${ORIGIN}\n20\n${root}`,
    };
    for (const [what, text] of Object.entries(cases)) assert.throws(() => parseCheckpointText(text), MALFORMED, what);
    assert.throws(() => parseCheckpoint(`${ORIGIN}\n20\n${root}\n\n`), MALFORMED, 'no signature');
    assert.throws(() => encodeCheckpoint({ ...cp, origin: 'a\nb' }), MALFORMED);
    assert.throws(() => encodeCheckpoint({ ...cp, treeSize: 1.5 }), MALFORMED);
    assert.throws(() => encodeCheckpoint({ ...cp, extensions: [''] }), MALFORMED);
  });
});

describe('checkpoint and verifier key messages quote a bounded prefix (found by npm run fuzz)', () => {
  const long = 'A'.repeat(3_000);
  const oneLineBounded = (e: any, code: string): boolean => {
    assert.equal(e.code, code);
    assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message.slice(0, 200))}`);
    assert.ok(e.message.length < 300, `${e.message.length} characters`);
    return true;
  };

  it('a 3 KB root hash line, tree size or timestamp line (were quoted whole)', () => {
    assert.throws(
      () => parseCheckpointText(`log\n1\n${long}=\n`),
      (e) => oneLineBounded(e, 'ERR_LOG_CHECKPOINT'),
    );
    assert.throws(
      () => parseCheckpointText(`log\n1${long}\n${'A'.repeat(43)}=\n`),
      (e) => oneLineBounded(e, 'ERR_LOG_CHECKPOINT'),
    );
    assert.throws(
      () => parseCheckpointText(`log\n1\n${'A'.repeat(43)}=\ntimestamp ${long}\n`),
      (e) => oneLineBounded(e, 'ERR_LOG_CHECKPOINT'),
    );
  });

  it('a verifier key whose name holds newlines and 3 KB (was quoted whole, over several lines)', () => {
    assert.throws(
      () => parseVerifierKey(`log\n1\n${long}+${long}+AA==`),
      (e) => oneLineBounded(e, 'ERR_LOG_VERIFIER_KEY'),
    );
    assert.throws(
      () => parseVerifierKey(`${long}+0000000g+AA==`),
      (e) => oneLineBounded(e, 'ERR_LOG_VERIFIER_KEY'),
    );
  });
});
