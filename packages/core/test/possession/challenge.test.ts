import assert from 'node:assert/strict';
import { createChallenge, parseChallenge, parseChallengeResponse, respondToChallenge, verifyChallengeResponse, type ChallengeRegistry, type NonceState } from '../../src/possession/challenge.js';
import { fromUtf8, toHex, utf8 } from '../../src/util/bytes.js';
import { provider } from '../x509/fixtures.js';

class MemoryRegistry implements ChallengeRegistry {
  readonly open = new Set<string>();
  readonly used = new Set<string>();
  async consumeChallenge(nonce: string): Promise<NonceState> {
    if (this.used.has(nonce)) return 'already-used';
    if (!this.open.delete(nonce)) return 'unknown';
    this.used.add(nonce);
    return 'consumed';
  }
}

describe('proof of possession', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const certSha = 'ab'.repeat(32);

  async function setup(ttl = 300) {
    const keys = await provider.generateKeyPair('P-256');
    const nonce = provider.randomBytes(32);
    const registry = new MemoryRegistry();
    registry.open.add(toHex(nonce));
    const { bytes } = createChallenge({ device: 'SN1', idevidSha256: certSha, nonce, now, ttlSeconds: ttl });
    const response = await respondToChallenge(bytes, keys.privateKey, provider);
    return { keys, registry, response };
  }

  it('accepts the device key once, and refuses a replay with ERR_VERIFY_POSSESSION_REPLAY', async () => {
    const { keys, registry, response } = await setup();
    const args = { response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, registry };
    assert.equal((await verifyChallengeResponse(args)).ok, true);
    const again = await verifyChallengeResponse(args);
    assert.equal(again.ok, false);
    assert.equal(again.code, 'ERR_VERIFY_POSSESSION_REPLAY');
  });

  it('refuses an expired challenge', async () => {
    const { keys, registry, response } = await setup(60);
    const r = await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now: new Date(now.getTime() + 61_000), provider, registry });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_EXPIRED');
  });

  it('refuses a response signed by another key', async () => {
    const { registry, response } = await setup();
    const other = await provider.generateKeyPair('P-256');
    const r = await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: other.publicKey.spki, now, provider, registry });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_SIGNATURE');
  });

  it('refuses a challenge made for another certificate, and one the verifier never issued', async () => {
    const { keys, registry, response } = await setup();
    assert.equal((await verifyChallengeResponse({ response, idevidSha256: 'cd'.repeat(32), idevidSpki: keys.publicKey.spki, now, provider, registry })).code, 'ERR_VERIFY_POSSESSION_DEVICE');
    registry.open.clear();
    assert.equal((await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, registry })).code, 'ERR_VERIFY_POSSESSION_UNKNOWN');
  });

  it('refuses malformed challenges with ERR_CHALLENGE_MALFORMED', () => {
    assert.throws(() => parseChallenge(utf8('{"type":"x"}')), { code: 'ERR_CHALLENGE_MALFORMED' });
    assert.throws(() => parseChallenge(utf8('not json')), { code: 'ERR_CHALLENGE_MALFORMED' });
  });

  // Issue 17: JSON.parse kept the last of two equal names while the key-order check saw the first position,
  // so a challenge naming the device twice passed, read as the second device.
  it('refuses a challenge naming a member twice, which passed the field-order check', () => {
    const { bytes } = createChallenge({ device: 'SN1', idevidSha256: certSha, nonce: new Uint8Array(32), now, ttlSeconds: 60 });
    const text = fromUtf8(bytes).trimEnd();
    assert.equal(parseChallenge(bytes).idevidSha256, certSha);
    const twice = utf8(`${text.slice(0, -1)},"idevidSha256":"${'cd'.repeat(32)}"}`);
    assert.throws(() => parseChallenge(twice), { code: 'ERR_CHALLENGE_MALFORMED', message: 'challenge: duplicate member name "idevidSha256" in the top-level object' });
    assert.throws(() => parseChallenge(utf8(text.replace('"device"', '"\\u0064evice":"SN2","device"'))), { code: 'ERR_CHALLENGE_MALFORMED', message: /duplicate member name "device"/ });
  });

  it('refuses a response naming a member twice, and reports it as a failed check', async () => {
    const { keys, registry, response } = await setup();
    const text = fromUtf8(response).trimEnd();
    assert.ok(parseChallengeResponse(response));
    const twice = utf8(`${text.slice(0, -1)},"signature":"MAA="}`);
    assert.throws(() => parseChallengeResponse(twice), { code: 'ERR_CHALLENGE_MALFORMED', message: /^response: duplicate member name "signature"/ });
    const r = await verifyChallengeResponse({ response: twice, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, registry });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_MALFORMED');
    assert.match(r.reason, /duplicate member name "signature"/);
    assert.throws(() => parseChallengeResponse(Uint8Array.of(0x7b, 0xff, 0x7d)), { code: 'ERR_CHALLENGE_MALFORMED', message: /response is not UTF-8 JSON/ });
  });

  it('reports a malformed response as a failed check, not a crash', async () => {
    const { keys, registry } = await setup();
    const r = await verifyChallengeResponse({ response: utf8('{}'), idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, registry });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_MALFORMED');
  });
});
