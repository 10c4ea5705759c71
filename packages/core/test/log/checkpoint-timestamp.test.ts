import assert from 'node:assert/strict';
import { encodeCheckpoint, parseCheckpoint, parseCheckpointText, signCheckpoint, verifyCheckpoint, type Checkpoint } from '../../src/log/checkpoint.js';
import { encodeSignedNote, parseSignedNote } from '../../src/log/signed-note.js';
import { createVerifierKey, type VerifierKey } from '../../src/log/verifier-key.js';
import { ecdsaP1363ToDER } from '../../src/crypto/ecdsa-signature.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import type { KeyPair } from '../../src/crypto/provider.js';
import { toBase64 } from '../../src/util/bytes.js';
import { buildLog, nodeSha256 } from './helpers.js';

const ORIGIN = 'log.custody.example/factory';
const MALFORMED = { code: 'ERR_LOG_CHECKPOINT' };
const TIME = new Date('2026-11-24T12:34:56Z');

describe('checkpoint timestamp line', () => {
  const crypto = new NodeCryptoProvider();
  let keys: KeyPair;
  let trusted: VerifierKey;
  let cp: Checkpoint;
  let root: string;

  before(async () => {
    keys = await crypto.generateKeyPair('P-256');
    trusted = createVerifierKey(ORIGIN, keys.publicKey.spki);
    cp = { origin: ORIGIN, treeSize: 20, rootHash: buildLog(20, nodeSha256).roots[20]!, time: TIME, extensions: [] };
    root = toBase64(cp.rootHash);
  });

  it('writes `timestamp <RFC 3339 UTC seconds>` right after the root hash and parses it back', () => {
    const text = encodeCheckpoint(cp);
    assert.equal(text, `${ORIGIN}\n20\n${root}\ntimestamp 2026-11-24T12:34:56Z\n`);
    assert.deepEqual(parseCheckpointText(text), cp);
    // Other extension lines follow it and stay in order.
    const withExt = { ...cp, extensions: ['ext one', 'ext two'] };
    assert.equal(encodeCheckpoint(withExt).split('\n')[3], 'timestamp 2026-11-24T12:34:56Z');
    assert.deepEqual(parseCheckpointText(encodeCheckpoint(withExt)), withExt);
  });

  it('rounds the time down to whole seconds', () => {
    const text = encodeCheckpoint({ ...cp, time: new Date('2026-11-24T12:34:56.999Z') });
    assert.equal(parseCheckpointText(text).time?.toISOString(), '2026-11-24T12:34:56.000Z');
  });

  it('is signed like the rest of the note: a verified checkpoint carries its time, a changed time fails', async () => {
    const note = await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto);
    const verified = await verifyCheckpoint(note, [trusted], crypto);
    assert.equal(verified.checkpoint.time?.toISOString(), TIME.toISOString());
    const moved = note.replace('timestamp 2026-11-24T12:34:56Z', 'timestamp 2026-11-24T12:34:55Z');
    await assert.rejects(verifyCheckpoint(moved, [trusted], crypto), { code: 'ERR_LOG_CHECKPOINT_SIGNATURE' });
  });

  it('keeps checkpoints without the line valid: they state no time', async () => {
    const { time: _t, ...old } = cp;
    const text = encodeCheckpoint(old);
    assert.equal(text, `${ORIGIN}\n20\n${root}\n`);
    const parsed = parseCheckpointText(text);
    assert.equal(Object.hasOwn(parsed, 'time'), false);
    const note = await signCheckpoint(old, { name: ORIGIN, key: keys.privateKey }, crypto);
    assert.equal((await verifyCheckpoint(note, [trusted], crypto)).checkpoint.time, undefined);
    assert.equal(parseCheckpoint(note).checkpoint.time, undefined);
  });

  it('refuses malformed timestamp lines with ERR_LOG_CHECKPOINT', () => {
    const head = `${ORIGIN}\n20\n${root}\n`;
    const cases: Record<string, string> = {
      'no value': 'timestamp\n',
      'empty value': 'timestamp \n',
      'two spaces': 'timestamp  2026-11-24T12:34:56Z\n',
      'space for T': 'timestamp 2026-11-24 12:34:56Z\n',
      fraction: 'timestamp 2026-11-24T12:34:56.5Z\n',
      offset: 'timestamp 2026-11-24T12:34:56+00:00\n',
      'lower-case z': 'timestamp 2026-11-24T12:34:56z\n',
      'no zone': 'timestamp 2026-11-24T12:34:56\n',
      'month 13': 'timestamp 2026-13-24T12:34:56Z\n',
      'February 30': 'timestamp 2026-02-30T00:00:00Z\n',
      'hour 24': 'timestamp 2026-11-24T24:00:00Z\n',
      'leap second': 'timestamp 2026-12-31T23:59:60Z\n',
      'unix seconds': 'timestamp 1795523696\n',
      'trailing text': 'timestamp 2026-11-24T12:34:56Z extra\n',
      'not first': 'ext\ntimestamp 2026-11-24T12:34:56Z\n',
      twice: 'timestamp 2026-11-24T12:34:56Z\ntimestamp 2026-11-24T12:34:57Z\n',
    };
    for (const [what, tail] of Object.entries(cases)) assert.throws(() => parseCheckpointText(head + tail), MALFORMED, what);
    // Not the timestamp line: another word that merely starts with it.
    assert.deepEqual(parseCheckpointText(`${head}timestamps are elsewhere\n`).extensions, ['timestamps are elsewhere']);
  });

  it('refuses a malformed timestamp even under a valid signature (ERR_LOG_CHECKPOINT)', async () => {
    const text = `${ORIGIN}\n20\n${root}\ntimestamp 2026-02-30T00:00:00Z\n`;
    const signed = parseSignedNote(await signCheckpoint(cp, { name: ORIGIN, key: keys.privateKey }, crypto));
    const p1363 = await crypto.sign(keys.privateKey, new TextEncoder().encode(text));
    const note = encodeSignedNote({ text, signatures: [{ ...signed.signatures[0]!, signature: ecdsaP1363ToDER(p1363) }] });
    await assert.rejects(verifyCheckpoint(note, [trusted], crypto), MALFORMED);
  });

  it('refuses to encode an invalid time or a timestamp given as an extension line', () => {
    assert.throws(() => encodeCheckpoint({ ...cp, time: new Date(NaN) }), MALFORMED);
    assert.throws(() => encodeCheckpoint({ ...cp, time: new Date('+010000-01-01T00:00:00Z') }), MALFORMED);
    assert.throws(() => encodeCheckpoint({ ...cp, extensions: ['timestamp 2026-11-24T12:34:56Z'] }), MALFORMED);
  });
});
