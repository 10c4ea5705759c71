/**
 * The release port's contract, run inside the store contract against both backends: signers by name, releases
 * as one chain with counters never lower per model, withdrawal lists numbered without gaps. The PostgreSQL suite
 * shares one database across tests, so each test starts from the newest release and list it finds.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { FirmwareSignerRecord, ReleaseRecord, WithdrawalsRecord } from '@custody/core/ports';
import type { Store } from '../../src/types.js';

const hex = (): string => randomBytes(32).toString('hex');

function signer(name: string): FirmwareSignerRecord {
  return {
    name,
    ca: 'acme-root',
    certificate: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
    key: { type: 'file', path: `${name}.key.pem` },
    spkiSha256: hex(),
    certSha256: hex(),
    createdAt: '2026-12-06T12:00:00.000Z',
  };
}

function release(previous: string | null, models: string[], securityCounter: number, version = `v${securityCounter}`): ReleaseRecord {
  return {
    hash: hex(),
    manifest: 'AA==',
    imageName: 'image.bin',
    imageSha256: hex(),
    length: 1024,
    version,
    securityCounter,
    models,
    expires: '2027-06-01T00:00:00Z',
    previous,
    signer: 'fw',
    time: '2026-12-06T12:00:00Z',
  };
}

function withdrawals(number: number, withdrawn: string[]): WithdrawalsRecord {
  return {
    number,
    hash: hex(),
    list: 'AA==',
    thisUpdate: '2026-12-06T12:00:00Z',
    nextUpdate: '2027-01-06T12:00:00Z',
    withdrawn: withdrawn.map((release) => ({ release, time: '2026-12-06T12:00:00Z' })),
  };
}

/** The release tests; `store()` and `prefix()` are the current test's (see `storeContract`). */
export function releasesContract(store: () => Store, prefix: () => string, reopen: (s: Store) => Promise<Store>): void {
  describe('firmware signers, releases and withdrawal lists', function () {
    const newest = async (): Promise<string | null> => (await store().listReleases()).at(-1)?.hash ?? null;

    it('records firmware signers by name and refuses a name twice with ERR_CONFLICT_NAME', async function () {
      const s = signer(`${prefix()}fw`);
      await store().addFirmwareSigner(s);
      assert.deepEqual(await store().getFirmwareSigner(s.name), s);
      assert.ok((await store().listFirmwareSigners()).some((x) => x.name === s.name));
      assert.equal(await store().getFirmwareSigner(`${prefix()}none`), undefined);
      await assert.rejects(store().addFirmwareSigner(signer(s.name)), { code: 'ERR_CONFLICT_NAME' });
    });

    it('records releases as a chain, oldest first, kept across handles', async function () {
      const model = `${prefix()}GW`;
      const a = release(await newest(), [model], 1);
      await store().recordRelease(a);
      const b = release(a.hash, [model, `${prefix()}GX`], 2);
      await store().recordRelease(b);
      const other = await reopen(store());
      try {
        const all = await other.listReleases();
        assert.deepEqual(all.slice(-2), [a, b]);
        assert.deepEqual(await other.getRelease(b.hash), b);
        assert.equal(await other.getRelease(hex()), undefined);
      } finally {
        await other.close();
      }
    });

    it('refuses a release recorded twice, one that does not name the newest, and a lower counter for a model', async function () {
      const model = `${prefix()}GW`;
      const a = release(await newest(), [model], 5);
      await store().recordRelease(a);
      await assert.rejects(store().recordRelease({ ...a, previous: a.hash }), { code: 'ERR_CONFLICT_RELEASE_EXISTS' });
      await assert.rejects(store().recordRelease(release(a.previous, [model], 6)), { code: 'ERR_CONFLICT_RELEASE_PREVIOUS' });
      await assert.rejects(store().recordRelease(release(a.hash, [`${prefix()}other`, model], 4)), { code: 'ERR_CONFLICT_SECURITY_COUNTER' });
      // Another model's line has counters of its own; the same counter again is allowed.
      const b = release(a.hash, [`${prefix()}other`], 1);
      await store().recordRelease(b);
      await store().recordRelease(release(b.hash, [model], 5));
    });

    it('numbers withdrawal lists 1, 2, 3 and refuses a gap or a repeat with ERR_CONFLICT_WITHDRAWALS_NUMBER', async function () {
      const start = (await store().latestWithdrawals())?.number ?? 0;
      const r = hex();
      await assert.rejects(store().recordWithdrawals(withdrawals(start + 2, [r])), { code: 'ERR_CONFLICT_WITHDRAWALS_NUMBER' });
      const first = withdrawals(start + 1, [r]);
      await store().recordWithdrawals(first);
      assert.deepEqual(await store().latestWithdrawals(), first);
      await assert.rejects(store().recordWithdrawals(withdrawals(start + 1, [])), { code: 'ERR_CONFLICT_WITHDRAWALS_NUMBER' });
      const second = withdrawals(start + 2, [r, hex()].sort());
      await store().recordWithdrawals(second);
      assert.deepEqual((await store().latestWithdrawals())?.withdrawn, second.withdrawn);
    });
  });
}
