import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAttestationSigner, signEncodedStatement, type AttestationSigner } from '../../src/attestation/cms.js';
import { NodeCryptoProvider } from '../../src/crypto/node-provider.js';
import { createReleaseTrust, type ReleaseTrust } from '../../src/release/code-signer.js';
import { checkUpdate } from '../../src/release/device-rules.js';
import { parseReleaseManifest, signReleaseManifest, verifyReleaseManifest, type VerifiedRelease } from '../../src/release/release-manifest.js';
import { createReleaseStatement, encodeReleaseStatement, parseReleaseStatement, validateReleaseStatement } from '../../src/release/release-statement.js';
import { checkUpdateState, encodeUpdateState, INITIAL_UPDATE_STATE, parseUpdateState } from '../../src/release/update-state.js';
import { createWithdrawalList, parseWithdrawalList, signWithdrawalList, validateWithdrawalList, verifyWithdrawalList } from '../../src/release/withdrawals.js';
import { children, explicit, readOne, seq, tlv } from '../../src/asn1/der.js';
import { utf8 } from '../../src/util/bytes.js';
import { highSTwin } from '../attestation/high-s-twin.js';
import { createReleasePki, type ReleasePki } from './pki.js';

const provider = new NodeCryptoProvider();
// Times relative to the run: the openssl certificates are valid from now for 30 days.
const DAY = 86_400_000;
const T = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
const at = (days: number): Date => new Date(T.getTime() + days * DAY);
const iso = (d: Date): string => d.toISOString().slice(0, 19) + 'Z';
const LATER = at(1);
const IMAGE = 'ab'.repeat(32);

/**
 * The same signed document with another certificates field: the signature does not cover it, so anyone holding a
 * manifest can re-wrap it (the supply-chain attacker's move against a list that names releases by DER hash).
 */
function withCertificates(der: Uint8Array, certs: readonly Uint8Array[]): Uint8Array {
  const [ct, wrap] = children(readOne(der).value);
  const sd = children(readOne(wrap!.value).value);
  return seq(ct!.raw, explicit(0, seq(...sd.slice(0, 3).map((t) => t.raw), tlv(0xa0, ...certs), sd[4]!.raw)));
}

describe('release manifests and withdrawal lists', () => {
  let pki: ReleasePki;
  let signer: AttestationSigner;
  let trust: ReleaseTrust;
  const statement = (over: Partial<Parameters<typeof createReleaseStatement>[0]> = {}, s: AttestationSigner = signer) =>
    createReleaseStatement({
      imageName: 'gw-1.4.0.bin',
      imageSha256: IMAGE,
      version: '1.4.0',
      securityCounter: 7,
      length: 1024,
      models: ['GW-200', 'GW-100'],
      expires: iso(at(20)),
      previous: null,
      signer: s.spkiSha256,
      time: iso(T),
      ...over,
    });
  const release = async (over = {}, s = signer): Promise<Uint8Array> => signReleaseManifest(s, statement(over, s), T);

  before(async () => {
    pki = createReleasePki();
    signer = await createAttestationSigner({ certificate: pki.firmware.certDer, key: pki.firmware.key, provider, chain: [pki.issuing] });
    trust = createReleaseTrust([pki.root], provider);
  });
  after(() => pki.cleanup());

  it('round-trips a statement through its one encoding, models sorted', () => {
    const s = statement();
    assert.deepEqual(s.predicate.models, ['GW-100', 'GW-200']);
    assert.deepEqual(parseReleaseStatement(encodeReleaseStatement(s)), s);
  });

  it('verifies a manifest signed by a firmware signer under the root, the chain carried inside', async () => {
    const der = await release();
    const v = await verifyReleaseManifest(der, trust, LATER);
    assert.equal(v.statement.predicate.securityCounter, 7);
    assert.equal(v.hash, provider.sync.digestHexSync('SHA-256', der));
    assert.equal(v.envelope.chain?.length, 1);
  });

  it('is accepted by openssl cms -verify with the root alone', async () => {
    const file = join(pki.dir, 'release.der');
    writeFileSync(file, await release());
    const r = spawnSync(
      'openssl',
      ['cms', '-verify', '-inform', 'DER', '-binary', '-in', file, '-CAfile', pki.rootPath, '-purpose', 'any', '-out', join(pki.dir, 'out.json')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(new Uint8Array(readFileSync(join(pki.dir, 'out.json'))), encodeReleaseStatement(statement()));
  });

  it('refuses a manifest signed by a party key without codeSigning', async () => {
    const partySigner = await createAttestationSigner({ certificate: pki.party.certDer, key: pki.party.key, provider, chain: [pki.issuing] });
    await assert.rejects(verifyReleaseManifest(await release({}, partySigner), trust, LATER), { code: 'ERR_RELEASE_SIGNER_EKU' });
  });

  it('refuses a firmware signer under another root, and one whose chain is not carried', async () => {
    const other = await createAttestationSigner({ certificate: pki.otherFirmware.certDer, key: pki.otherFirmware.key, provider });
    await assert.rejects(verifyReleaseManifest(await release({}, other), trust, LATER), { code: 'ERR_RELEASE_SIGNER_CHAIN' });
    const bare = await createAttestationSigner({ certificate: pki.firmware.certDer, key: pki.firmware.key, provider });
    await assert.rejects(verifyReleaseManifest(await release({}, bare), trust, LATER), { code: 'ERR_RELEASE_SIGNER_CHAIN' });
  });

  it('refuses a changed statement byte, a high-S twin and duplicate member names', async () => {
    const der = await release();
    const at = Buffer.from(der).indexOf('1.4.0');
    const edited = der.slice();
    edited[at + 4] = '1'.charCodeAt(0);
    await assert.rejects(verifyReleaseManifest(edited, trust, LATER), { code: 'ERR_RELEASE_SIGNATURE' });
    assert.throws(() => parseReleaseManifest(highSTwin(der)), { code: 'ERR_RELEASE_HIGH_S' });
    const text = new TextDecoder().decode(encodeReleaseStatement(statement())).replace('"version":"1.4.0"', '"version":"1.4.0","version":"0.1"');
    const dup = await signEncodedStatement(signer, utf8(text), T);
    assert.throws(() => parseReleaseManifest(dup), { code: 'ERR_RELEASE_MALFORMED' });
  });

  it('refuses a statement whose signer field names another key', async () => {
    const s = statement();
    const forged = await signEncodedStatement(signer, encodeReleaseStatement({ ...s, predicate: { ...s.predicate, signer: 'cd'.repeat(32) } }), T);
    await assert.rejects(verifyReleaseManifest(forged, trust, LATER), { code: 'ERR_RELEASE_SIGNER' });
  });

  describe('malformed input: every parser returns or throws its own code', () => {
    it('refuses a manifest cut anywhere, with a byte appended, over 64 KiB, or another document in the envelope', async () => {
      const der = await release();
      for (let cut = 0; cut < der.length; cut += 37) assert.throws(() => parseReleaseManifest(der.subarray(0, cut)), { code: 'ERR_RELEASE_MALFORMED' });
      assert.throws(() => parseReleaseManifest(Uint8Array.of(...der, 0)), { code: 'ERR_RELEASE_MALFORMED' });
      assert.throws(() => parseReleaseManifest(new Uint8Array(64 * 1024 + 1)), { code: 'ERR_RELEASE_MALFORMED' });
      const list = createWithdrawalList({ number: 1, thisUpdate: iso(T), nextUpdate: iso(at(1)), signer: signer.spkiSha256, withdrawn: [] });
      const listDer = await signWithdrawalList(signer, list, T);
      assert.throws(() => parseReleaseManifest(listDer), { code: 'ERR_RELEASE_MALFORMED' });
      assert.throws(() => parseWithdrawalList(der), { code: 'ERR_WITHDRAWALS_MALFORMED' });
    });

    it('refuses statements with an unknown field, unsorted models, an expiry before the release, a counter that is not a count', () => {
      const s = statement();
      const p = s.predicate;
      for (const predicate of [
        { ...p, extra: 1 },
        { ...p, models: ['GW-200', 'GW-100'] },
        { ...p, models: ['GW-100', 'GW-100'] },
        { ...p, models: [] },
        { ...p, expires: p.time },
        { ...p, securityCounter: -1 },
        { ...p, securityCounter: 1.5 },
        { ...p, length: 0 },
        { ...p, version: 'a\nb' },
        { ...p, previous: 'AB'.repeat(32) },
      ])
        assert.throws(() => validateReleaseStatement({ ...s, predicate }), { code: 'ERR_RELEASE_MALFORMED' }, JSON.stringify(predicate));
      assert.throws(() => validateReleaseStatement({ ...s, predicateType: 'https://custody.dev/attestation/birth/v1' }), { code: 'ERR_RELEASE_MALFORMED' });
    });

    it('refuses withdrawal lists unsorted, numbered 0, or with nextUpdate before thisUpdate', () => {
      const base = { _type: 'https://custody.dev/release-withdrawals/v1', number: 1, thisUpdate: iso(T), nextUpdate: iso(at(1)), signer: 'ab'.repeat(32) };
      const w = (release: string) => ({ release, time: iso(T) });
      for (const bad of [
        { ...base, withdrawn: [w('bb'.repeat(32)), w('aa'.repeat(32))] },
        { ...base, withdrawn: [w('aa'.repeat(32)), w('aa'.repeat(32))] },
        { ...base, number: 0, withdrawn: [] },
        { ...base, nextUpdate: iso(T), withdrawn: [] },
      ])
        assert.throws(() => validateWithdrawalList(bad), { code: 'ERR_WITHDRAWALS_MALFORMED' });
    });
  });

  describe('the device rules', () => {
    let v: VerifiedRelease;
    const base = () => ({ release: v, image: { sha256: IMAGE, length: 1024 }, model: 'GW-100', now: LATER, state: INITIAL_UPDATE_STATE });
    before(async () => {
      v = await verifyReleaseManifest(await release(), trust, LATER);
    });

    it('accepts, raising the counter and keeping the manifest', () => {
      const d = checkUpdate(base());
      assert.equal(d.state.counter, 7);
      assert.equal(d.previousCounter, 0);
      assert.deepEqual(d.state.release, v.envelope.der);
    });
    it('accepts the same counter again', () => {
      assert.equal(checkUpdate({ ...base(), state: { counter: 7, release: null, withdrawalsNumber: 0 } }).state.counter, 7);
    });
    const refusals: Array<[string, string, (b: ReturnType<typeof base>) => ReturnType<typeof base>]> = [
      ['an image of another length', 'ERR_RELEASE_IMAGE_LENGTH', (b) => ({ ...b, image: { ...b.image, length: 1023 } })],
      ['an image with another hash', 'ERR_RELEASE_IMAGE_HASH', (b) => ({ ...b, image: { ...b.image, sha256: 'ac'.repeat(32) } })],
      ['another model', 'ERR_RELEASE_MODEL', (b) => ({ ...b, model: 'GW-300' })],
      ['an expired manifest (freeze)', 'ERR_RELEASE_EXPIRED', (b) => ({ ...b, now: at(20) })],
      ['a lower counter (rollback)', 'ERR_RELEASE_ROLLBACK', (b) => ({ ...b, state: { ...b.state, counter: 8 } })],
    ];
    for (const [what, code, change] of refusals) {
      it(`refuses ${what}: ${code}`, () => {
        assert.throws(() => checkUpdate(change(base())), { code });
      });
    }

    it('refuses a withdrawn release, a stale list and an older list than the one accepted', async () => {
      const list = (n: number, withdrawn: string[], next = iso(at(7))) =>
        createWithdrawalList({
          number: n,
          thisUpdate: iso(T),
          nextUpdate: next,
          signer: signer.spkiSha256,
          withdrawn: withdrawn.map((release) => ({ release, time: iso(T) })),
        });
      const w = await verifyWithdrawalList(await signWithdrawalList(signer, list(2, [v.hash]), T), trust, LATER);
      assert.throws(() => checkUpdate({ ...base(), withdrawals: w }), { code: 'ERR_RELEASE_WITHDRAWN' });
      const other = await verifyWithdrawalList(await signWithdrawalList(signer, list(2, ['00'.repeat(32)]), T), trust, LATER);
      assert.equal(checkUpdate({ ...base(), withdrawals: other }).state.withdrawalsNumber, 2);
      assert.throws(() => checkUpdate({ ...base(), withdrawals: other, state: { ...INITIAL_UPDATE_STATE, withdrawalsNumber: 3 } }), {
        code: 'ERR_WITHDRAWALS_ROLLBACK',
      });
      const stale = await verifyWithdrawalList(await signWithdrawalList(signer, list(3, [], iso(at(0.5))), T), trust, LATER);
      assert.throws(() => checkUpdate({ ...base(), withdrawals: stale }), { code: 'ERR_WITHDRAWALS_STALE' });
    });

    it('refuses an update without a withdrawal list once the device has accepted one (dropping the list hides a withdrawal)', () => {
      // A device that never saw a list has nothing to require; one that accepted list 2 would otherwise take a
      // withdrawn release from anyone who leaves the list (or its stale copy) out.
      assert.equal(checkUpdate(base()).state.withdrawalsNumber, 0);
      assert.throws(() => checkUpdate({ ...base(), state: { ...INITIAL_UPDATE_STATE, withdrawalsNumber: 2 } }), { code: 'ERR_WITHDRAWALS_MISSING' });
    });

    it('refuses a withdrawn release re-wrapped with other carried certificates (the signature does not cover them)', async () => {
      const der = v.envelope.der;
      const certs = children(readOne(children(readOne(der).value)[1]!.value).value)[3]!;
      const [signerCert, issuing] = children(certs.value).map((c) => c.raw);
      const list = createWithdrawalList({ number: 1, thisUpdate: iso(T), nextUpdate: iso(at(7)), signer: signer.spkiSha256, withdrawn: [] });
      const w = await verifyWithdrawalList(await signWithdrawalList(signer, { ...list, withdrawn: [{ release: v.hash, time: iso(T) }] }, T), trust, LATER);
      // The issuing CA twice, the root appended, the chain reordered: each another DER of the one signed release.
      // A device that trusts the issuing CA itself still takes the manifest as written (the chain ends at its anchor).
      assert.equal((await verifyReleaseManifest(der, createReleaseTrust([pki.issuing], provider), LATER)).hash, v.hash);
      for (const carried of [
        [signerCert!, issuing!, issuing!],
        [signerCert!, issuing!, pki.root],
        [signerCert!, pki.root, issuing!],
      ]) {
        const rewrapped = withCertificates(der, carried);
        await assert.rejects((async () => checkUpdate({ ...base(), release: await verifyReleaseManifest(rewrapped, trust, LATER), withdrawals: w }))(), {
          code: 'ERR_RELEASE_MALFORMED',
        });
      }
    });

    it('refuses a withdrawal list signed by a party key', async () => {
      const partySigner = await createAttestationSigner({ certificate: pki.party.certDer, key: pki.party.key, provider, chain: [pki.issuing] });
      const l = createWithdrawalList({ number: 1, thisUpdate: iso(T), nextUpdate: iso(at(7)), signer: partySigner.spkiSha256, withdrawn: [] });
      await assert.rejects(verifyWithdrawalList(await signWithdrawalList(partySigner, l, T), trust, LATER), { code: 'ERR_WITHDRAWALS_SIGNER_EKU' });
    });

    it('round-trips the update state and detects a counter edited backwards or forwards', async () => {
      const state = checkUpdate(base()).state;
      const back = parseUpdateState(encodeUpdateState(state));
      assert.deepEqual(back, state);
      await checkUpdateState(back, trust);
      await assert.rejects(checkUpdateState({ ...back, counter: 3 }, trust), { code: 'ERR_UPDATE_STATE_TAMPERED' });
      await assert.rejects(checkUpdateState({ ...back, counter: 9 }, trust), { code: 'ERR_UPDATE_STATE_TAMPERED' });
      await assert.rejects(checkUpdateState({ ...INITIAL_UPDATE_STATE, counter: 2 }, trust), { code: 'ERR_UPDATE_STATE_TAMPERED' });
      assert.throws(() => parseUpdateState(utf8('{"counter":1}')), { code: 'ERR_UPDATE_STATE_MALFORMED' });
    });
  });
});
