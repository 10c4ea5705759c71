import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { encodeSignedNote, parseSignedNote, NOTE_MAX_SIGNATURES } from '../../src/log/signed-note.js';
import { createVerifierKey, encodeVerifierKey, parseVerifierKey, ecdsaNoteKeyId } from '../../src/log/verifier-key.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { toBase64, utf8 } from '../../src/util/bytes.js';

const MALFORMED = { code: 'ERR_LOG_CHECKPOINT' };

describe('signed notes (c2sp.org/signed-note)', () => {
  // The example note of the signed-note specification (an Ed25519 signature; only its syntax is checked here).
  const specExample =
    'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n' +
    '\u2014 quasimodo.example/salvatore NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n';

  it('parses the specification example, whose text holds a blank line, and encodes it back byte for byte', () => {
    const note = parseSignedNote(specExample);
    assert.equal(note.text, 'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n');
    assert.equal(note.signatures.length, 1);
    assert.equal(note.signatures[0]!.keyName, 'quasimodo.example/salvatore');
    assert.equal(note.signatures[0]!.keyId, 0x367ba04b);
    assert.equal(note.signatures[0]!.signature.length, 64);
    assert.equal(encodeSignedNote(note), specExample);
    assert.deepEqual(parseSignedNote(utf8(specExample)), note);
  });

  it('refuses malformed notes with ERR_LOG_CHECKPOINT', () => {
    const sig = `\u2014 k ${toBase64(new Uint8Array(8))}\n`;
    const cases: Record<string, string | Uint8Array> = {
      'no blank line': `a\n${sig}`,
      'no signature': 'a\n\n',
      'signature without newline': `a\n\n${sig.slice(0, -1)}`,
      'hyphen instead of em dash': `a\n\n- k ${toBase64(new Uint8Array(8))}\n`,
      'no key name': `a\n\n\u2014  ${toBase64(new Uint8Array(8))}\n`,
      'plus in key name': `a\n\n\u2014 k+1 ${toBase64(new Uint8Array(8))}\n`,
      'bad base64': `a\n\n\u2014 k AAAA*AAA\n`,
      'non-canonical base64': `a\n\n\u2014 k AAAAAAB=\n`,
      'signature of 4 bytes': `a\n\n\u2014 k ${toBase64(new Uint8Array(4))}\n`,
      'carriage return': `a\r\n\n${sig}`,
      tab: `a\tb\n\n${sig}`,
      'invalid UTF-8': Uint8Array.of(0x61, 0xff, 0x0a, 0x0a, ...utf8(sig)),
      'lone surrogate': `a\ud800\n\n${sig}`,
      'too many signatures': `a\n\n${sig.repeat(NOTE_MAX_SIGNATURES + 1)}`,
    };
    for (const [what, note] of Object.entries(cases)) assert.throws(() => parseSignedNote(note), MALFORMED, what);
    assert.equal(parseSignedNote(`a\n\n${sig.repeat(NOTE_MAX_SIGNATURES)}`).signatures.length, NOTE_MAX_SIGNATURES);
    // The text ends at the last blank line (signed-note): an earlier one belongs to the text.
    assert.equal(parseSignedNote(`a\n\n${sig}\n${sig}`).text, `a\n\n${sig}`);
  });

  it('refuses to encode a text without final newline, with a control character, or with no signature', () => {
    const s = { keyName: 'k', keyId: 1, signature: new Uint8Array(8) };
    assert.throws(() => encodeSignedNote({ text: 'a', signatures: [s] }), MALFORMED);
    assert.throws(() => encodeSignedNote({ text: 'a\rb\n', signatures: [s] }), MALFORMED);
    assert.throws(() => encodeSignedNote({ text: 'a\n', signatures: [] }), MALFORMED);
    assert.throws(() => encodeSignedNote({ text: 'a\n', signatures: [{ ...s, keyName: 'a b' }] }), MALFORMED);
    assert.throws(() => encodeSignedNote({ text: 'a\n', signatures: [{ ...s, keyId: 2 ** 32 }] }), MALFORMED);
  });
});

describe('verifier keys (signature type 0x02, ECDSA)', () => {
  it('round-trips <name>+<key ID>+<base64(0x02 || SPKI)>, the key ID being SHA-256(SPKI)[:4]', async () => {
    const { publicKey } = await new NodeCryptoProvider().generateKeyPair('P-256');
    const key = createVerifierKey('log.example/custody', publicKey.spki);
    const expectedId = createHash('sha256').update(publicKey.spki).digest().readUInt32BE(0);
    assert.equal(key.keyId, expectedId);
    assert.equal(ecdsaNoteKeyId(publicKey.spki), expectedId);
    const text = encodeVerifierKey(key);
    assert.equal(text, `log.example/custody+${expectedId.toString(16).padStart(8, '0')}+${toBase64(Uint8Array.of(2, ...publicKey.spki))}`);
    assert.deepEqual(parseVerifierKey(text), key);
  });

  it('refuses malformed verifier keys with ERR_LOG_VERIFIER_KEY', async () => {
    const { publicKey } = await new NodeCryptoProvider().generateKeyPair('P-256');
    const good = encodeVerifierKey(createVerifierKey('log', publicKey.spki));
    const [name, id] = good.split('+') as [string, string];
    const b64 = good.slice(name.length + id.length + 2);
    const otherId = ((parseInt(id, 16) + 1) >>> 0).toString(16).padStart(8, '0');
    const cases: Record<string, string> = {
      'two fields': `${name}+${b64}`,
      'trailing field': `${good}+x`,
      'empty name': `+${id}+${b64}`,
      'upper-case hex': `${name}+${/[a-f]/.test(id) ? id.toUpperCase() : 'ABCDEF01'}+${b64}`,
      'short key ID': `${name}+${id.slice(1)}+${b64}`,
      'wrong key ID': `${name}+${otherId}+${b64}`,
      'bad base64': `${name}+${id}+${b64.slice(1)}`,
      'Ed25519 type': `${name}+${id}+${toBase64(Uint8Array.of(1, ...publicKey.spki))}`,
      'not a SEQUENCE': `${name}+${id}+${toBase64(Uint8Array.of(2, 4, 1, 0))}`,
      'space in name': `a b+${id}+${b64}`,
    };
    for (const [what, text] of Object.entries(cases)) assert.throws(() => parseVerifierKey(text), { code: 'ERR_LOG_VERIFIER_KEY' }, what);
    assert.throws(() => encodeVerifierKey({ name: 'log', keyId: 0, spki: publicKey.spki }), { code: 'ERR_LOG_VERIFIER_KEY' });
  });
});
