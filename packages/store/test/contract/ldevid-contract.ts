/**
 * The LDevID part of the store contract (the `LDevIDRegistry` port), run by `storeContract` against every backend:
 * an LDevID's key belongs to the first device it was certified for; the same device may be issued another over it.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { LDevIDRecord } from '@custody/core/ports';
import type { Store } from '../../src/types.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The LDevID tests, on the store `store()` returns for the test under way (`prefix()` its own serial prefix). */
export function ldevidContract(store: () => Store, prefix: () => string): void {
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
}
