/**
 * The LDevID part of the store contract (the `LDevIDRegistry` port), run by `storeContract` against every backend:
 * an LDevID's key belongs to the first device it was certified for; the same device may be issued another over it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { AttestationAppend, LDevIDRecord } from '@custody/core/ports';
import type { Store } from '../../src/types.js';
import { fixtureDevice } from './store-contract.js';

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/**
 * The LDevID tests, on the store `store()` returns for the test under way (`prefix()` its own serial prefix);
 * `reopen` opens a second handle on it (another process's view).
 */
export function ldevidContract(store: () => Store, prefix: () => string, reopen: (store: Store) => Promise<Store>): void {
  describe('LDevIDs (issue 20: one key was certified as the LDevID of two devices)', function () {
    const record = (serial: string, key: string, o: Partial<LDevIDRecord> = {}): LDevIDRecord => ({
      certSerial: randomBytes(16).toString('hex'),
      serial: `${prefix()}${serial}`,
      spkiSha256: sha(`${prefix()}${key}`),
      ca: 'customer-root',
      issuedAt: '2026-12-06T10:00:00.000Z',
      ...o,
    });

    it("records LDevIDs and lists a device's, oldest first; a key names its device", async function () {
      const first = record('D1', 'k1');
      const renewed = record('D1', 'k1', { issuedAt: '2026-12-07T10:00:00.000Z' });
      const other = record('D2', 'k2');
      await store().recordLDevID(first);
      await store().recordLDevID(other);
      await store().recordLDevID(renewed);
      assert.deepEqual(await store().listLDevIDs(first.serial), [first, renewed]);
      assert.deepEqual(await store().listLDevIDs(other.serial), [other]);
      assert.deepEqual(await store().listLDevIDs(`${prefix()}none`), []);
      assert.equal(await store().ldevidKeyHolder(first.spkiSha256), first.serial);
      assert.equal(await store().ldevidKeyHolder(sha(`${prefix()}unused`)), undefined);
    });

    it("refuses an LDevID for a key another device's LDevID certifies with ERR_DUPLICATE_KEY, recording nothing", async function () {
      const mine = record('D1', 'shared');
      await store().recordLDevID(mine);
      const theirs = record('D2', 'shared');
      await assert.rejects(store().recordLDevID(theirs), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_DUPLICATE_KEY');
        assert.match(e.message, new RegExp(`device ${mine.serial}`));
        return true;
      });
      assert.deepEqual(await store().listLDevIDs(theirs.serial), []);
      assert.equal(await store().ldevidKeyHolder(mine.spkiSha256), mine.serial);
      // Its certificate serial was not used up either.
      await store().recordLDevID({ ...record('D2', 'own'), certSerial: theirs.certSerial });
    });

    it('refuses a certificate serial recorded before with ERR_DUPLICATE_CERT_SERIAL', async function () {
      const a = record('D1', 'k1');
      await store().recordLDevID(a);
      await assert.rejects(store().recordLDevID(record('D2', 'k2', { certSerial: a.certSerial })), { code: 'ERR_DUPLICATE_CERT_SERIAL' });
    });

    it('lets exactly one of two devices racing for a key have it', async function () {
      const results = await Promise.allSettled([store().recordLDevID(record('R1', 'race')), store().recordLDevID(record('R2', 'race'))]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal((refused.reason as { code?: string }).code, 'ERR_DUPLICATE_KEY');
    });
  });

  describe("an activation's LDevID, recorded in the activation's write (issue 20: a lost race activated the device without its LDevID)", function () {
    const record = (serial: string, key: string): LDevIDRecord => ({
      certSerial: randomBytes(16).toString('hex'),
      serial,
      spkiSha256: sha(`${prefix()}${key}`),
      ca: 'customer-root',
      issuedAt: '2026-12-06T10:00:00.000Z',
    });
    /** A device recorded with its birth, and the activation that extends it, taking `ldevid` with it. */
    const device = async (name: string, ldevid: LDevIDRecord | ((serial: string) => LDevIDRecord)) => {
      const d = fixtureDevice(`${prefix()}${name}`);
      await store().commitDevices([d]);
      const activation: AttestationAppend = {
        serial: d.serial,
        prev: sha(d.attestations[0]!),
        attestation: new Uint8Array(Buffer.from(`activation of ${d.serial}`)),
        ldevid: typeof ldevid === 'function' ? ldevid(d.serial) : ldevid,
      };
      return { serial: d.serial, activation };
    };
    const length = async (serial: string) => (await store().getDevice(serial))!.attestations.length;

    it('records the activation and its LDevID together', async function () {
      const a = await device('A', (s) => record(s, 'ka'));
      assert.deepEqual(await store().appendAttestations([a.activation]), [{ serial: a.serial, ok: true }]);
      assert.equal(await length(a.serial), 2);
      assert.deepEqual(await store().listLDevIDs(a.serial), [a.activation.ldevid]);
      assert.equal(await store().ldevidKeyHolder(a.activation.ldevid!.spkiSha256), a.serial);
    });

    it("refuses an activation whose LDevID key is another device's with ERR_DUPLICATE_KEY, recording neither, its challenge left open", async function () {
      const a = await device('A', (s) => record(s, 'shared'));
      await store().appendAttestations([a.activation]);
      const b = await device('B', (s) => record(s, 'shared'));
      const nonce = randomBytes(16).toString('hex');
      await store().recordChallenge(nonce, new Uint8Array(Buffer.from('challenge')));
      const [r] = await store().appendAttestations([{ ...b.activation, challenge: nonce }]);
      assert.equal(r!.ok === false && r!.code, 'ERR_DUPLICATE_KEY');
      assert.equal(await length(b.serial), 1, 'the activation is not recorded');
      assert.deepEqual(await store().listLDevIDs(b.serial), []);
      assert.equal(await store().ldevidKeyHolder(a.activation.ldevid!.spkiSha256), a.serial);
      assert.equal((await store().readChallenge(nonce))!.used, false);
      // Re-run with a key of its own and the same certificate serial (not used up): both recorded.
      const own = { ...record(b.serial, 'own'), certSerial: b.activation.ldevid!.certSerial };
      const [again] = await store().appendAttestations([{ ...b.activation, ldevid: own, challenge: nonce }]);
      assert.equal(again!.ok, true);
      assert.deepEqual(await store().listLDevIDs(b.serial), [own]);
    });

    it('gives the key and the certificate serial back when the activation is refused (ERR_FORK)', async function () {
      const a = await device('A', (s) => record(s, 'given-back'));
      const [r] = await store().appendAttestations([{ ...a.activation, prev: sha('not the head') }]);
      assert.equal(r!.ok === false && r!.code, 'ERR_FORK');
      assert.equal(await store().ldevidKeyHolder(a.activation.ldevid!.spkiSha256), undefined);
      assert.deepEqual(await store().listLDevIDs(a.serial), []);
      // Another device may now have that key, under that certificate serial.
      const b = await device('B', (s) => ({ ...record(s, 'given-back'), certSerial: a.activation.ldevid!.certSerial }));
      assert.equal((await store().appendAttestations([b.activation]))[0]!.ok, true);
      assert.equal(await store().ldevidKeyHolder(a.activation.ldevid!.spkiSha256), b.serial);
    });

    it('lets exactly one of two activations racing for one LDevID key be recorded, the loser recording neither', async function () {
      const other = await reopen(store());
      try {
        for (let round = 0; round < 4; round++) {
          const a = await device(`RA${round}`, (s) => record(s, `race${round}`));
          const b = await device(`RB${round}`, (s) => record(s, `race${round}`));
          const results = await Promise.all([store().appendAttestations([a.activation]), other.appendAttestations([b.activation])]);
          const [ra, rb] = results.map((r) => r[0]!);
          assert.deepEqual([ra!.ok, rb!.ok].sort(), [false, true], `round ${round}`);
          const [winner, loser] = ra!.ok ? [a, b] : [b, a];
          const refused = ra!.ok ? rb! : ra!;
          assert.equal(refused.ok === false && refused.code, 'ERR_DUPLICATE_KEY');
          assert.equal(await length(winner.serial), 2);
          assert.equal(await length(loser.serial), 1, 'the loser is not activated');
          assert.deepEqual(await store().listLDevIDs(winner.serial), [winner.activation.ldevid]);
          assert.deepEqual(await store().listLDevIDs(loser.serial), []);
          assert.equal(await store().ldevidKeyHolder(winner.activation.ldevid!.spkiSha256), winner.serial);
        }
      } finally {
        await other.close();
      }
    });
  });
}
