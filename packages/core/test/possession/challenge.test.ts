import assert from 'node:assert/strict';
import {
  createChallenge,
  parseChallenge,
  parseChallengeResponse,
  respondToChallenge,
  verifyChallengeResponse,
  type ChallengeRecords,
  type IssuedChallenge,
} from '../../src/possession/challenge.js';
import { fromBase64, fromUtf8, toBase64, toHex, utf8 } from '../../src/util/bytes.js';
import { provider } from '../x509/fixtures.js';

/** The verifier's own record of the challenges it issued. */
class MemoryRecords implements ChallengeRecords {
  readonly issued = new Map<string, IssuedChallenge>();
  async readChallenge(nonce: string): Promise<IssuedChallenge | undefined> {
    return this.issued.get(nonce);
  }
}

describe('proof of possession', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const certSha = 'ab'.repeat(32);
  const otherSha = 'cd'.repeat(32);

  async function setup(ttl = 300, idevidSha256 = certSha) {
    const keys = await provider.generateKeyPair('P-256');
    const nonce = provider.randomBytes(32);
    const records = new MemoryRecords();
    const { bytes } = createChallenge({ device: 'SN1', idevidSha256, nonce, now, ttlSeconds: ttl });
    records.issued.set(toHex(nonce), { bytes, used: false });
    const response = await respondToChallenge(bytes, keys.privateKey, provider);
    return { keys, records, response, bytes, nonce };
  }

  it('accepts the device key, reads without spending (a second verification passes too), and names the nonce', async () => {
    const { keys, records, response, nonce } = await setup();
    const args = { response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records };
    const first = await verifyChallengeResponse(args);
    assert.equal(first.ok, true, first.reason);
    assert.equal(first.nonceHex, toHex(nonce));
    assert.equal((await verifyChallengeResponse(args)).ok, true);
  });

  it('refuses a response to a spent challenge with ERR_VERIFY_POSSESSION_REPLAY', async () => {
    const { keys, records, response, nonce, bytes } = await setup();
    records.issued.set(toHex(nonce), { bytes, used: true });
    const r = await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_REPLAY');
  });

  it('refuses an expired challenge', async () => {
    const { keys, records, response } = await setup(60);
    const r = await verifyChallengeResponse({
      response,
      idevidSha256: certSha,
      idevidSpki: keys.publicKey.spki,
      now: new Date(now.getTime() + 61_000),
      provider,
      records,
    });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_EXPIRED');
  });

  it('reads the expiry from its own record: a device that extends the expiry and signs its edit is refused (ERR_VERIFY_POSSESSION_CHALLENGE)', async () => {
    const { keys, records, bytes } = await setup(60);
    const edited = utf8(fromUtf8(bytes).replace(/"expiresAt":"[^"]+"/, '"expiresAt":"2099-01-01T00:00:00Z"'));
    const response = await respondToChallenge(edited, keys.privateKey, provider);
    const later = new Date(now.getTime() + 3600_000);
    const r = await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now: later, provider, records });
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_CHALLENGE');
  });

  it("reads the device from its own record: a challenge issued for another device, answered with this one's key, is refused", async () => {
    const { records, bytes } = await setup(300, otherSha);
    const mine = await provider.generateKeyPair('P-256');
    // Signed as issued: the record names the other device.
    const asIssued = await respondToChallenge(bytes, mine.privateKey, provider);
    const r1 = await verifyChallengeResponse({ response: asIssued, idevidSha256: certSha, idevidSpki: mine.publicKey.spki, now, provider, records });
    assert.equal(r1.code, 'ERR_VERIFY_POSSESSION_DEVICE');
    // Edited to name this device: the bytes are no longer the ones issued.
    const edited = utf8(fromUtf8(bytes).replace(otherSha, certSha));
    const r2 = await verifyChallengeResponse({
      response: await respondToChallenge(edited, mine.privateKey, provider),
      idevidSha256: certSha,
      idevidSpki: mine.publicKey.spki,
      now,
      provider,
      records,
    });
    assert.equal(r2.code, 'ERR_VERIFY_POSSESSION_CHALLENGE');
  });

  it('refuses a response signed by another key', async () => {
    const { records, response } = await setup();
    const other = await provider.generateKeyPair('P-256');
    const r = await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: other.publicKey.spki, now, provider, records });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_SIGNATURE');
  });

  it('refuses a challenge made for another certificate, and one the verifier never issued', async () => {
    const { keys, records, response } = await setup();
    assert.equal(
      (await verifyChallengeResponse({ response, idevidSha256: otherSha, idevidSpki: keys.publicKey.spki, now, provider, records })).code,
      'ERR_VERIFY_POSSESSION_DEVICE',
    );
    records.issued.clear();
    assert.equal(
      (await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records })).code,
      'ERR_VERIFY_POSSESSION_UNKNOWN',
    );
  });

  it('looks the record up by the nonce only: a response whose nonce was changed is unknown', async () => {
    const { keys, records, bytes } = await setup();
    const j = JSON.parse(fromUtf8(bytes));
    j.nonce = toBase64(new Uint8Array(fromBase64(j.nonce)!).map((b) => b ^ 1));
    const response = await respondToChallenge(utf8(JSON.stringify(j) + '\n'), keys.privateKey, provider);
    assert.equal(
      (await verifyChallengeResponse({ response, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records })).code,
      'ERR_VERIFY_POSSESSION_UNKNOWN',
    );
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
    assert.throws(() => parseChallenge(twice), {
      code: 'ERR_CHALLENGE_MALFORMED',
      message: 'challenge: duplicate member name "idevidSha256" in the top-level object',
    });
    assert.throws(() => parseChallenge(utf8(text.replace('"device"', '"\\u0064evice":"SN2","device"'))), {
      code: 'ERR_CHALLENGE_MALFORMED',
      message: /duplicate member name "device"/,
    });
  });

  it('refuses a response naming a member twice, and reports it as a failed check', async () => {
    const { keys, records, response } = await setup();
    const text = fromUtf8(response).trimEnd();
    assert.ok(parseChallengeResponse(response));
    const twice = utf8(`${text.slice(0, -1)},"signature":"MAA="}`);
    assert.throws(() => parseChallengeResponse(twice), { code: 'ERR_CHALLENGE_MALFORMED', message: /^response: duplicate member name "signature"/ });
    const r = await verifyChallengeResponse({ response: twice, idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_MALFORMED');
    assert.match(r.reason, /duplicate member name "signature"/);
    assert.throws(() => parseChallengeResponse(Uint8Array.of(0x7b, 0xff, 0x7d)), { code: 'ERR_CHALLENGE_MALFORMED', message: /response is not UTF-8 JSON/ });
  });

  it('reports a malformed response as a failed check, not a crash', async () => {
    const { keys, records } = await setup();
    const r = await verifyChallengeResponse({ response: utf8('{}'), idevidSha256: certSha, idevidSpki: keys.publicKey.spki, now, provider, records });
    assert.equal(r.code, 'ERR_VERIFY_POSSESSION_MALFORMED');
  });
});

describe('challenge times are read strictly', () => {
  const base = createChallenge({
    device: 'SN1',
    idevidSha256: 'ab'.repeat(32),
    nonce: new Uint8Array(16).fill(7),
    now: new Date('2026-11-24T15:00:00Z'),
    ttlSeconds: 300,
  });
  const withTime = (t: string) => utf8(fromUtf8(base.bytes).replace('"2026-11-24T15:00:00Z"', JSON.stringify(t)));

  it('accepts the form createChallenge writes', () => assert.equal(parseChallenge(base.bytes).issuedAt, '2026-11-24T15:00:00Z'));

  it('refuses what only Date.parse would take: a year, a local time, an RFC 2822 date, an impossible day', () => {
    for (const t of [
      '2030',
      '2026-11-24T15:00:00',
      'Tue, 24 Nov 2026 15:00:00 GMT',
      '2026-02-30T15:00:00Z',
      '2026-11-24T15:00:00.000Z',
      '2026-11-24T15:00:00+01:00',
    ]) {
      assert.throws(() => parseChallenge(withTime(t)), { code: 'ERR_CHALLENGE_MALFORMED', message: /issuedAt is not a UTC time/ }, t);
    }
  });
});
