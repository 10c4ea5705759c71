/**
 * The semantics every Store backend must share, as one mocha suite: run it with a factory for each backend.
 * The stores hash attestation bytes and never parse them, so the fixtures use fixed bytes; only the refusal of
 * high-S signatures, found by a walk of the DER headers, needs real attestations (signed per test: the
 * PostgreSQL store holds each attestation hash once across devices).
 *
 * A backend may hand every test the same underlying store (one database per suite): each test uses its own
 * serials, names and lots, and counts relative to where it started.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { inclusionProof, leafHash, treeRoot, verifyInclusion } from '@custody/core';
import { nodeSha256 } from '@custody/core/node';
import type { DeviceRecord } from '@custody/core/ports';
import type { CARecord, PartyRecord, Store } from '../../src/types.js';
import { ldevidContract } from './ldevid-contract.js';
import {
  makeDevice,
  makeParty,
  makeRoot,
  signChain,
  T_BIRTH,
  T_HANDOFF1,
  T_HANDOFF2,
  type Holder,
  type Party,
} from '../../../core/test/verification/fixtures.js';
import { highSTwin } from '../../../core/test/attestation/high-s-twin.js';
import { releasesContract } from './releases-contract.js';

const utf8 = (s: string) => new Uint8Array(Buffer.from(s, 'utf8'));
const hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A device with a birth attestation (and `extra` more attestations), all bytes derived from the serial. */
export function fixtureDevice(serial: string, opts: { lot?: string; model?: string; extra?: number } = {}): DeviceRecord {
  const attestations = [utf8(`birth of ${serial}`)];
  for (let i = 1; i <= (opts.extra ?? 0); i++) attestations.push(utf8(`handoff ${i} of ${serial}`));
  const certificate = utf8(`certificate of ${serial}`);
  const d: DeviceRecord = {
    serial,
    certificate,
    certSerial: hex(`cert serial of ${serial}`).slice(0, 32),
    spkiSha256: hex(`key of ${serial}`),
    certSha256: hex(certificate),
    issuer: 'issuing',
    issuedAt: '2026-01-02T03:04:05Z',
    attestations,
  };
  if (opts.lot !== undefined) d.lot = opts.lot;
  if (opts.model !== undefined) d.model = opts.model;
  return d;
}

/** The append that extends `device`'s chain with an attestation of its own (`text` and the serial). */
function nextOf(device: DeviceRecord, text: string) {
  return { serial: device.serial, prev: hex(device.attestations.at(-1)!), attestation: utf8(`${text} of ${device.serial}`) };
}

function caRecord(name: string, issuer?: string): CARecord {
  const r: CARecord = {
    name,
    template: 'root-ca',
    certificate: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
    key: { type: 'file', path: `keys/${name}.key.pem` },
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  if (issuer !== undefined) r.issuer = issuer;
  return r;
}

function partyRecord(name: string): PartyRecord {
  return {
    name,
    organization: 'Acme',
    certificate: `-----BEGIN CERTIFICATE-----\n${name}\n-----END CERTIFICATE-----\n`,
    key: { type: 'file', path: `keys/${name}.key.pem` },
    ca: 'root',
    spkiSha256: hex(`party ${name}`),
    certSha256: hex(`party cert ${name}`),
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

/**
 * Defines the contract suite for one backend; `makeStore` is called before each test, the store closed after;
 * `reopen` opens a second handle on the same store (another process's view).
 */
export function storeContract(name: string, makeStore: () => Promise<Store>, reopen: (store: Store) => Promise<Store>): void {
  describe(`Store contract: ${name}`, function () {
    let store: Store;
    let p: string;
    beforeEach(async function () {
      store = await makeStore();
      // A prefix of its own for every test: serials, lots and names never collide across tests.
      p = `T${randomBytes(4).toString('hex')}-`;
    });
    afterEach(async function () {
      await store.close();
    });

    describe('commitDevices and getDevice', function () {
      it('returns a committed device field for field, attestations in order', async function () {
        const d = fixtureDevice(`${p}1`, { lot: `${p}lot`, model: 'M1', extra: 2 });
        await store.commitDevices([d]);
        assert.deepEqual(await store.getDevice(d.serial), d);
      });

      it('keeps model and lot absent when they were not given', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const got = await store.getDevice(d.serial);
        assert.ok(got);
        assert.equal('model' in got, false);
        assert.equal('lot' in got, false);
        assert.deepEqual(got, d);
      });

      it('returns undefined for an unknown serial', async function () {
        assert.equal(await store.getDevice(`${p}nobody`), undefined);
      });

      it('counts committed devices', async function () {
        const before = await store.countDevices();
        await store.commitDevices([fixtureDevice(`${p}1`), fixtureDevice(`${p}2`), fixtureDevice(`${p}3`)]);
        assert.equal(await store.countDevices(), before + 3);
      });

      it('lists every device, each in its newest version', async function () {
        const a = fixtureDevice(`${p}a`);
        const b = fixtureDevice(`${p}b`, { lot: `${p}lot` });
        await store.commitDevices([a, b]);
        const next = nextOf(a, 'h1');
        await store.appendAttestations([next]);
        const mine = (await store.listDevices()).filter((d) => d.serial.startsWith(p)).sort((x, y) => x.serial.localeCompare(y.serial));
        assert.deepEqual(mine, [{ ...a, attestations: [...a.attestations, next.attestation] }, b]);
      });

      it('accepts an empty batch', async function () {
        await store.commitDevices([]);
      });

      it('records a large batch in one call', async function () {
        const batch = Array.from({ length: 2500 }, (_, i) => fixtureDevice(`${p}${i}`, { lot: `${p}big` }));
        await store.commitDevices(batch);
        assert.equal((await store.listLot(`${p}big`)).length, 2500);
        assert.deepEqual(await store.getDevice(`${p}2499`), batch[2499]);
      });
    });

    describe('duplicates', function () {
      it('refuses a serial issued before with ERR_DUPLICATE_SERIAL', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const again = { ...fixtureDevice(`${p}other`), serial: d.serial };
        await assert.rejects(store.commitDevices([again]), { code: 'ERR_DUPLICATE_SERIAL' });
      });

      it('refuses a public key certified before with ERR_DUPLICATE_KEY', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        await assert.rejects(store.commitDevices([{ ...fixtureDevice(`${p}2`), spkiSha256: d.spkiSha256 }]), { code: 'ERR_DUPLICATE_KEY' });
      });

      it('refuses a certificate serial used before with ERR_DUPLICATE_CERT_SERIAL', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        await assert.rejects(store.commitDevices([{ ...fixtureDevice(`${p}2`), certSerial: d.certSerial }]), { code: 'ERR_DUPLICATE_CERT_SERIAL' });
      });

      it('records all or none: a batch with one duplicate leaves nothing behind', async function () {
        const d = fixtureDevice(`${p}dup`);
        await store.commitDevices([d]);
        const before = await store.countDevices();
        const batch = [fixtureDevice(`${p}a`, { lot: `${p}lot` }), fixtureDevice(`${p}b`, { lot: `${p}lot` }), { ...fixtureDevice(`${p}c`), serial: d.serial }];
        await assert.rejects(store.commitDevices(batch), { code: 'ERR_DUPLICATE_SERIAL' });
        assert.equal(await store.getDevice(`${p}a`), undefined);
        assert.equal(await store.getDevice(`${p}b`), undefined);
        assert.deepEqual(await store.listLot(`${p}lot`), []);
        assert.equal(await store.countDevices(), before);
        // The refused devices can still be recorded afterwards.
        await store.commitDevices(batch.slice(0, 2));
        assert.deepEqual(await store.listLot(`${p}lot`), [`${p}a`, `${p}b`]);
      });

      it('reports conflicts by kind without recording anything', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const fresh = fixtureDevice(`${p}2`);
        assert.deepEqual(await store.findConflicts([{ serial: fresh.serial, spkiSha256: fresh.spkiSha256, certSerial: fresh.certSerial }]), []);
        const conflicts = await store.findConflicts([
          { serial: d.serial, spkiSha256: fresh.spkiSha256 },
          { serial: `${p}3`, spkiSha256: d.spkiSha256, certSerial: d.certSerial },
        ]);
        assert.deepEqual(conflicts, [
          { kind: 'serial', value: d.serial },
          { kind: 'key', value: d.spkiSha256 },
          { kind: 'certSerial', value: d.certSerial },
        ]);
      });
    });

    describe('appendAttestations', function () {
      it('extends a chain whose newest attestation hashes to prev', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const a = nextOf(d, 'handoff 1');
        assert.deepEqual(await store.appendAttestations([a]), [{ serial: d.serial, ok: true }]);
        assert.deepEqual((await store.getDevice(d.serial))!.attestations, [...d.attestations, a.attestation]);
      });

      it('refuses a second transfer from the same point with ERR_FORK', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        assert.equal((await store.appendAttestations([nextOf(d, 'to Alice')]))[0]!.ok, true);
        const [r] = await store.appendAttestations([nextOf(d, 'to Bob')]);
        assert.equal(r!.ok, false);
        assert.equal(r!.ok === false && r!.code, 'ERR_FORK');
        assert.equal((await store.getDevice(d.serial))!.attestations.length, 2);
      });

      it('refuses an append to a device it does not hold with ERR_DEVICE_UNKNOWN', async function () {
        const [r] = await store.appendAttestations([{ serial: `${p}ghost`, prev: hex('x'), attestation: utf8('y') }]);
        assert.deepEqual({ ok: r!.ok, code: r!.ok === false && r!.code }, { ok: false, code: 'ERR_DEVICE_UNKNOWN' });
      });

      it('decides each device on its own in one call', async function () {
        const a = fixtureDevice(`${p}a`);
        const b = fixtureDevice(`${p}b`);
        await store.commitDevices([a, b]);
        const results = await store.appendAttestations([
          nextOf(a, 'a1'),
          { serial: b.serial, prev: hex('not the head'), attestation: utf8('b1') },
          { serial: `${p}ghost`, prev: hex('x'), attestation: utf8('g1') },
        ]);
        assert.deepEqual(
          results.map((r) => [r.serial, r.ok, r.ok ? undefined : r.code]),
          [
            [a.serial, true, undefined],
            [b.serial, false, 'ERR_FORK'],
            [`${p}ghost`, false, 'ERR_DEVICE_UNKNOWN'],
          ],
        );
        assert.equal((await store.getDevice(b.serial))!.attestations.length, 1);
      });

      it('applies two appends to one device in order within one call', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const first = nextOf(d, 'h1');
        const second = { serial: d.serial, prev: hex(first.attestation), attestation: utf8(`h2 of ${d.serial}`) };
        const results = await store.appendAttestations([first, second]);
        assert.deepEqual(
          results.map((r) => r.ok),
          [true, true],
        );
        assert.deepEqual((await store.getDevice(d.serial))!.attestations, [...d.attestations, first.attestation, second.attestation]);
      });

      it('refuses the second of two appends from the same point within one call', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const results = await store.appendAttestations([nextOf(d, 'to Alice'), nextOf(d, 'to Bob')]);
        assert.deepEqual(
          results.map((r) => (r.ok ? 'ok' : r.code)),
          ['ok', 'ERR_FORK'],
        );
        assert.deepEqual((await store.getDevice(d.serial))!.attestations.at(-1), utf8(`to Alice of ${d.serial}`));
      });

      it('accepts an empty list', async function () {
        assert.deepEqual(await store.appendAttestations([]), []);
      });
    });

    describe('getTips', function () {
      it('answers length, newest hash and newest attestation, in the order asked, undefined for unknown', async function () {
        const a = fixtureDevice(`${p}a`);
        const b = fixtureDevice(`${p}b`, { extra: 1 });
        await store.commitDevices([a, b]);
        const h = nextOf(a, 'h1');
        await store.appendAttestations([h]);
        const tips = await store.getTips([b.serial, `${p}ghost`, a.serial]);
        assert.deepEqual(
          tips.map((t) => t && { serial: t.serial, length: t.length, lastHash: t.lastHash, last: Buffer.from(t.last!).toString() }),
          [
            { serial: b.serial, length: 2, lastHash: hex(b.attestations[1]!), last: `handoff 1 of ${b.serial}` },
            undefined,
            { serial: a.serial, length: 2, lastHash: hex(h.attestation), last: `h1 of ${a.serial}` },
          ],
        );
      });

      it('follows appends made through another handle of the same store', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        assert.equal((await store.getTips([d.serial]))[0]!.length, 1);
        const other = await reopen(store);
        try {
          assert.equal((await other.appendAttestations([nextOf(d, 'elsewhere')]))[0]!.ok, true);
        } finally {
          await other.close();
        }
        const [tip] = await store.getTips([d.serial]);
        assert.deepEqual([tip!.length, tip!.lastHash], [2, hex(utf8(`elsewhere of ${d.serial}`))]);
        // This handle's remembered tip is stale: an append from the old head is a fork.
        const [r] = await store.appendAttestations([nextOf(d, 'here')]);
        assert.equal(r!.ok === false && r!.code, 'ERR_FORK');
      });

      it('keeps whole chains across appends, an import that extends them, and more appends', async function () {
        const long = fixtureDevice(`${p}1`, { extra: 3 });
        await store.commitDevices([{ ...long, attestations: long.attestations.slice(0, 1) }]);
        await store.appendAttestations([{ serial: long.serial, prev: hex(long.attestations[0]!), attestation: long.attestations[1]! }]);
        assert.equal(await store.importDevice(long), 'extended');
        const more = nextOf(long, 'h4');
        assert.equal((await store.appendAttestations([more]))[0]!.ok, true);
        const want = [...long.attestations, more.attestation];
        assert.deepEqual((await store.getDevice(long.serial))!.attestations, want);
        assert.deepEqual((await store.listDevices()).find((x) => x.serial === long.serial)!.attestations, want);
        assert.equal((await store.getTips([long.serial]))[0]!.length, 5);
      });
    });

    describe('importDevice', function () {
      it('adds a device it does not hold', async function () {
        const d = fixtureDevice(`${p}1`, { extra: 1 });
        assert.equal(await store.importDevice(d), 'added');
        assert.deepEqual(await store.getDevice(d.serial), d);
      });

      it('leaves the same or a shorter chain unchanged', async function () {
        const d = fixtureDevice(`${p}1`, { extra: 2 });
        await store.commitDevices([d]);
        assert.equal(await store.importDevice(d), 'unchanged');
        assert.equal(await store.importDevice({ ...d, attestations: d.attestations.slice(0, 1) }), 'unchanged');
        assert.deepEqual(await store.getDevice(d.serial), d);
      });

      it('extends a device with a longer chain', async function () {
        const long = fixtureDevice(`${p}1`, { extra: 2 });
        await store.commitDevices([{ ...long, attestations: long.attestations.slice(0, 1) }]);
        assert.equal(await store.importDevice(long), 'extended');
        assert.deepEqual(await store.getDevice(long.serial), long);
        // The extended chain goes on from its new head.
        assert.equal((await store.appendAttestations([nextOf(long, 'h3')]))[0]!.ok, true);
      });

      it('refuses a chain that disagrees with the recorded one with ERR_FORK', async function () {
        const d = fixtureDevice(`${p}1`, { extra: 1 });
        await store.commitDevices([d]);
        const forked = { ...d, attestations: [d.attestations[0]!, utf8(`another handoff of ${d.serial}`), utf8(`and more of ${d.serial}`)] };
        await assert.rejects(store.importDevice(forked), { code: 'ERR_FORK' });
        assert.deepEqual(await store.getDevice(d.serial), d);
        // The disagreeing record is kept as evidence of the fork.
        const kept = (await store.listEvidence()).filter((e) => e.serial === d.serial);
        assert.equal(kept.length, 1);
        assert.equal(kept[0]!.attestation, 1);
        assert.deepEqual(kept[0]!.device.attestations, forked.attestations);
        assert.deepEqual(kept[0]!.device.certificate, d.certificate);
      });

      it('refuses another certificate under a recorded serial with ERR_CONFLICT_DEVICE', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        await assert.rejects(store.importDevice({ ...d, certificate: utf8('someone else') }), { code: 'ERR_CONFLICT_DEVICE' });
      });

      it("refuses a new device carrying another device's key with ERR_DUPLICATE_KEY", async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        await assert.rejects(store.importDevice({ ...fixtureDevice(`${p}2`), spkiSha256: d.spkiSha256 }), { code: 'ERR_DUPLICATE_KEY' });
        assert.equal(await store.getDevice(`${p}2`), undefined);
      });
    });

    describe('high-S signatures (regression: the twin (r, n - s) of an attestation taking its place)', function () {
      let parties: { factory: Party; integrator: Party; reseller: Party };
      let idevid: Holder;
      before(async function () {
        const root = await makeRoot('Acme', 'Acme Root');
        parties = {
          factory: await makeParty(root, 'Acme', 'factory'),
          integrator: await makeParty(root, 'Northwind', 'integrator'),
          reseller: await makeParty(root, 'Contoso', 'reseller'),
        };
        idevid = await makeDevice(root, 'H1');
      });
      /** A device of this test with a real chain (birth, two handoffs, signed now) of which it holds the birth. */
      const realDevice = async () => {
        const { factory, integrator, reseller } = parties;
        const chain = await signChain(idevid, [
          { kind: 'birth', signer: factory, to: integrator, time: T_BIRTH },
          { kind: 'handoff', signer: integrator, to: reseller, time: T_HANDOFF1 },
          { kind: 'handoff', signer: reseller, to: factory, time: T_HANDOFF2 },
        ]);
        const device = { ...fixtureDevice(`${p}H1`), certificate: idevid.der, certSha256: hex(idevid.der), attestations: chain.slice(0, 1) };
        return { device, chain };
      };

      it('refuses to import a chain holding a twin with ERR_ATTESTATION_HIGH_S, keeps no fork evidence, and the real next handoff appends', async function () {
        const { device, chain } = await realDevice();
        await store.commitDevices([device]);
        const twin = highSTwin(chain[1]!);
        await assert.rejects(
          store.importDevice({ ...device, attestations: [chain[0]!, twin] }),
          (e: any) => e.code === 'ERR_ATTESTATION_HIGH_S' && /attestation 1: the signature has a high S/.test(e.message),
        );
        assert.deepEqual((await store.getDevice(device.serial))!.attestations, chain.slice(0, 1));
        assert.deepEqual(
          (await store.listEvidence()).filter((e) => e.serial === device.serial),
          [],
        );
        // Before the fix the twin was recorded, and the honest handoff below was refused as a fork.
        assert.deepEqual(await store.appendAttestations([{ serial: device.serial, prev: hex(chain[0]!), attestation: chain[1]! }]), [
          { serial: device.serial, ok: true },
        ]);
        assert.equal(await store.importDevice({ ...device, attestations: chain }), 'extended');
        assert.deepEqual((await store.getDevice(device.serial))!.attestations, chain);
        assert.deepEqual(
          (await store.listEvidence()).filter((e) => e.serial === device.serial),
          [],
        );
      });

      it('refuses a new device whose birth is a twin, recording nothing', async function () {
        const { device, chain } = await realDevice();
        await assert.rejects(store.importDevice({ ...device, attestations: [highSTwin(chain[0]!)] }), { code: 'ERR_ATTESTATION_HIGH_S' });
        assert.equal(await store.getDevice(device.serial), undefined);
        assert.equal(await store.importDevice(device), 'added');
      });

      it('refuses to append a twin with ERR_ATTESTATION_HIGH_S, device by device, and takes the real one after', async function () {
        const { device, chain } = await realDevice();
        const other = fixtureDevice(`${p}other`);
        await store.commitDevices([device, other]);
        const results = await store.appendAttestations([
          { serial: device.serial, prev: hex(chain[0]!), attestation: highSTwin(chain[1]!) },
          nextOf(other, 'h1'),
        ]);
        assert.deepEqual(
          results.map((r) => [r.serial, r.ok ? 'ok' : r.code]),
          [
            [device.serial, 'ERR_ATTESTATION_HIGH_S'],
            [other.serial, 'ok'],
          ],
        );
        assert.match(results[0]!.ok ? '' : results[0]!.message, /high S/);
        assert.deepEqual((await store.getDevice(device.serial))!.attestations, chain.slice(0, 1));
        const [real] = await store.appendAttestations([{ serial: device.serial, prev: hex(chain[0]!), attestation: chain[1]! }]);
        assert.deepEqual(real, { serial: device.serial, ok: true });
      });
    });

    describe('listLot', function () {
      it('lists the serials of a lot in recording order', async function () {
        const lot = `${p}L1`;
        await store.commitDevices([fixtureDevice(`${p}c`, { lot }), fixtureDevice(`${p}a`, { lot }), fixtureDevice(`${p}x`, { lot: `${p}L2` })]);
        await store.commitDevices([fixtureDevice(`${p}b`, { lot })]);
        assert.deepEqual(await store.listLot(lot), [`${p}c`, `${p}a`, `${p}b`]);
        assert.deepEqual(await store.listLot(`${p}L2`), [`${p}x`]);
      });

      it('returns nothing for an unknown lot', async function () {
        assert.deepEqual(await store.listLot(`${p}none`), []);
      });
    });

    describe('CAs and parties', function () {
      it('records and lists CAs and parties', async function () {
        const root = caRecord(`${p}root`);
        const issuing = caRecord(`${p}issuing`, root.name);
        const party = partyRecord(`${p}factory`);
        await store.addCA(root);
        await store.addCA(issuing);
        await store.addParty(party);
        assert.deepEqual(await store.getCA(root.name), root);
        assert.deepEqual(await store.getCA(issuing.name), issuing);
        assert.deepEqual(await store.getParty(party.name), party);
        assert.equal(await store.getCA(`${p}none`), undefined);
        assert.equal(await store.getParty(`${p}none`), undefined);
        const cas = (await store.listCAs()).filter((c) => c.name.startsWith(p));
        assert.deepEqual(cas, [root, issuing]);
        assert.deepEqual(
          (await store.listParties()).filter((x) => x.name.startsWith(p)),
          [party],
        );
      });

      it('refuses a name already used by a CA or a party with ERR_CONFLICT_NAME', async function () {
        await store.addCA(caRecord(`${p}root`));
        await store.addParty(partyRecord(`${p}factory`));
        await assert.rejects(store.addCA(caRecord(`${p}root`)), { code: 'ERR_CONFLICT_NAME' });
        await assert.rejects(store.addParty(partyRecord(`${p}root`)), { code: 'ERR_CONFLICT_NAME' });
        await assert.rejects(store.addCA(caRecord(`${p}factory`)), { code: 'ERR_CONFLICT_NAME' });
        await assert.rejects(store.addParty(partyRecord(`${p}factory`)), { code: 'ERR_CONFLICT_NAME' });
      });
    });

    describe('proof-of-possession challenges', function () {
      it('consumes a recorded nonce once', async function () {
        const nonce = randomBytes(16).toString('hex');
        await store.recordChallenge(nonce, utf8('challenge'));
        assert.equal(await store.consumeChallenge(nonce), 'consumed');
        assert.equal(await store.consumeChallenge(nonce), 'already-used');
        assert.equal(await store.consumeChallenge(randomBytes(16).toString('hex')), 'unknown');
        assert.equal(await store.consumeChallenge('../not-a-nonce'), 'unknown');
      });

      it('reads a recorded challenge back, exactly as issued, and whether it was spent', async function () {
        const nonce = randomBytes(16).toString('hex');
        const bytes = utf8('{"challenge":1}\n');
        assert.equal(await store.readChallenge(nonce), undefined);
        await store.recordChallenge(nonce, bytes);
        assert.deepEqual(await store.readChallenge(nonce), { bytes, used: false });
        assert.deepEqual(await store.readChallenge(nonce), { bytes, used: false }, 'reading spends nothing');
        await store.consumeChallenge(nonce);
        assert.deepEqual(await store.readChallenge(nonce), { bytes, used: true });
        assert.equal(await store.readChallenge('../../store'), undefined);
      });

      it('spends a challenge in the same write as the attestation that names it, once', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const nonce = randomBytes(16).toString('hex');
        await store.recordChallenge(nonce, utf8('challenge'));
        const a = { ...nextOf(d, 'activation'), challenge: nonce };
        assert.deepEqual(await store.appendAttestations([a]), [{ serial: d.serial, ok: true }]);
        assert.equal((await store.readChallenge(nonce))!.used, true);
        const d2 = fixtureDevice(`${p}2`);
        await store.commitDevices([d2]);
        const [again] = await store.appendAttestations([{ ...nextOf(d2, 'activation'), challenge: nonce }]);
        assert.equal(again!.ok === false && again!.code, 'ERR_VERIFY_POSSESSION_REPLAY');
        const [unknown] = await store.appendAttestations([{ ...nextOf(d2, 'activation'), challenge: randomBytes(16).toString('hex') }]);
        assert.equal(unknown!.ok === false && unknown!.code, 'ERR_VERIFY_POSSESSION_UNKNOWN');
        assert.equal((await store.getDevice(d2.serial))!.attestations.length, 1, 'nothing recorded without its challenge');
      });

      it('leaves the challenge open when the attestation that would spend it is refused', async function () {
        const d = fixtureDevice(`${p}1`);
        await store.commitDevices([d]);
        const nonce = randomBytes(16).toString('hex');
        await store.recordChallenge(nonce, utf8('challenge'));
        const [r] = await store.appendAttestations([{ serial: d.serial, prev: hex('not the head'), attestation: utf8('activation'), challenge: nonce }]);
        assert.equal(r!.ok === false && r!.code, 'ERR_FORK');
        assert.equal((await store.readChallenge(nonce))!.used, false);
        assert.equal((await store.appendAttestations([{ ...nextOf(d, 'activation'), challenge: nonce }]))[0]!.ok, true);
      });

      it('refuses a nonce recorded before with ERR_CONFLICT_CHALLENGE, open or spent, and a nonce that is not hex with ERR_USAGE_CHALLENGE_NONCE', async function () {
        const nonce = randomBytes(16).toString('hex');
        await store.recordChallenge(nonce, utf8('first'));
        await assert.rejects(store.recordChallenge(nonce, utf8('second')), { code: 'ERR_CONFLICT_CHALLENGE' });
        assert.equal(await store.consumeChallenge(nonce), 'consumed');
        await assert.rejects(store.recordChallenge(nonce, utf8('third')), { code: 'ERR_CONFLICT_CHALLENGE' });
        assert.deepEqual((await store.readChallenge(nonce))!.bytes, utf8('first'));
        await assert.rejects(store.recordChallenge('../../escape', utf8('x')), { code: 'ERR_USAGE_CHALLENGE_NONCE' });
      });
    });

    describe('revocations and CRL numbers', function () {
      it('records revocations per CA, oldest first, and refuses a serial revoked twice with ERR_CONFLICT_REVOKED', async function () {
        await store.addCA(caRecord(`${p}ca`));
        assert.deepEqual(await store.listRevocations(`${p}ca`), []);
        await store.revoke(`${p}ca`, { serialHex: '0a', revokedAt: '2026-01-02T00:00:00.000Z', reason: 'keyCompromise', device: `${p}1` });
        await store.revoke(`${p}ca`, { serialHex: '0b', revokedAt: '2026-01-03T00:00:00.000Z', party: `${p}party` });
        assert.deepEqual(await store.listRevocations(`${p}ca`), [
          { serialHex: '0a', revokedAt: '2026-01-02T00:00:00.000Z', reason: 'keyCompromise', device: `${p}1` },
          { serialHex: '0b', revokedAt: '2026-01-03T00:00:00.000Z', party: `${p}party` },
        ]);
        await assert.rejects(store.revoke(`${p}ca`, { serialHex: '0a', revokedAt: '2026-01-04T00:00:00.000Z' }), { code: 'ERR_CONFLICT_REVOKED' });
        assert.deepEqual(await store.listRevocations(`${p}other`), []);
      });

      it('refuses an unknown CA with ERR_USAGE_UNKNOWN_CA', async function () {
        await assert.rejects(store.revoke(`${p}nope`, { serialHex: '01', revokedAt: '2026-01-02T00:00:00.000Z' }), { code: 'ERR_USAGE_UNKNOWN_CA' });
        await assert.rejects(store.nextCRLNumber(`${p}nope`), { code: 'ERR_USAGE_UNKNOWN_CA' });
      });

      it('allocates CRL numbers 1, 2, 3 per CA, kept across handles', async function () {
        await store.addCA(caRecord(`${p}a`));
        await store.addCA(caRecord(`${p}b`));
        assert.equal(await store.nextCRLNumber(`${p}a`), 1);
        assert.equal(await store.nextCRLNumber(`${p}a`), 2);
        assert.equal(await store.nextCRLNumber(`${p}b`), 1);
        const other = await reopen(store);
        try {
          assert.equal(await other.nextCRLNumber(`${p}a`), 3);
        } finally {
          await other.close();
        }
      });
    });

    describe('key references', function () {
      it('names an absolute key folder that a file KeyRef is relative to', async function () {
        assert.ok(isAbsolute(store.keyDir), store.keyDir);
      });
    });

    describe('transparency log', function () {
      it('is there in every store: leaves in record order, each found by device and seq and back', async function () {
        const before = await store.logSize();
        const d = fixtureDevice(`${p}1`, { extra: 1 });
        await store.commitDevices([d]);
        assert.equal((await store.appendAttestations([nextOf(d, 'handoff 2')]))[0]!.ok, true);
        assert.equal(await store.logSize(), before + 3);
        for (let seq = 0; seq < 3; seq++) {
          const leaf = await store.logLeafIndex(d.serial, seq);
          assert.equal(leaf, before + seq);
          assert.deepEqual(await store.logLeaf(leaf!), { serial: d.serial, seq });
        }
        assert.equal(await store.logLeafIndex(d.serial, 3), undefined);
        assert.equal(await store.logLeafIndex(`${p}unknown`, 0), undefined);
        assert.equal(await store.logLeaf(before + 3 + 1000), undefined);
      });

      it('answers roots and proofs from its nodes after loadLogNodes', async function () {
        const d = fixtureDevice(`${p}1`, { extra: 2 });
        await store.commitDevices([d]);
        const size = await store.logSize();
        const leaf = (await store.logLeafIndex(d.serial, 2))!;
        await store.loadLogNodes(size, { leaves: [leaf], oldSize: size - 1 });
        const root = treeRoot(store.logNodes(), size, nodeSha256);
        const proof = inclusionProof(store.logNodes(), leaf, size, nodeSha256);
        verifyInclusion(leafHash(d.attestations[2]!, nodeSha256), proof, root, nodeSha256);
      });

      it('records its settings once: ERR_CONFLICT_LOG_EXISTS for a second log key', async function () {
        const config = { origin: `custody.example/${p}log`, key: { type: 'file' as const, path: 'log.key.pem' }, createdAt: '2026-01-01T00:00:00.000Z' };
        if (!(await store.getLogConfig())) await store.setLogConfig(config);
        const kept = (await store.getLogConfig())!;
        assert.equal(typeof kept.origin, 'string');
        await assert.rejects(store.setLogConfig(config), { code: 'ERR_CONFLICT_LOG_EXISTS' });
        assert.deepEqual(await store.getLogConfig(), kept);
      });
    });

    describe('checkpoint memory and history', function () {
      it('remembers the newest checkpoint seen per origin', async function () {
        assert.equal(await store.getSeenCheckpoint(`${p}a`), undefined);
        await store.putSeenCheckpoint(`${p}a`, 'note 1');
        await store.putSeenCheckpoint(`${p}b`, 'note b');
        await store.putSeenCheckpoint(`${p}a`, 'note 2');
        assert.equal(await store.getSeenCheckpoint(`${p}a`), 'note 2');
        const other = await reopen(store);
        try {
          assert.equal(await other.getSeenCheckpoint(`${p}b`), 'note b');
        } finally {
          await other.close();
        }
      });

      it('proves consistency of its own log only', async function () {
        assert.equal(await store.consistencyProof(`${p}someone-else`, 0, 0), undefined);
      });

      it('keeps signed checkpoints as the tree grows and finds the earliest that holds a leaf', async function () {
        // Sizes of their own, far past any other test's, so that a suite sharing one store sees only these.
        const base = 1_000_000_000 + randomBytes(3).readUIntBE(0, 3) * 16;
        await store.recordCheckpoint(base + 4, `${p}note 4`);
        await store.recordCheckpoint(base + 8, `${p}note 8`);
        await store.recordCheckpoint(base + 6, `${p}note 6 (shrinks: skipped)`);
        assert.equal(await store.checkpointCovering(base + 5), `${p}note 8`);
        assert.equal(await store.checkpointCovering(base + 8), undefined);
      });
    });

    releasesContract(
      () => store,
      () => p,
      (s) => reopen(s),
    );

    describe('fork evidence', function () {
      it('keeps a disagreeing imported chain, whole, readable through the port alone', async function () {
        const mine = fixtureDevice(`${p}1`, { extra: 1 });
        await store.commitDevices([mine]);
        const before = (await store.listEvidence()).length;
        const theirs: DeviceRecord = { ...mine, attestations: [mine.attestations[0]!, utf8(`another handoff of ${mine.serial}`)] };
        await assert.rejects(store.importDevice(theirs), { code: 'ERR_FORK' });
        const evidence = (await store.listEvidence()).filter((e) => e.serial === mine.serial);
        assert.equal((await store.listEvidence()).length, before + 1);
        assert.equal(evidence.length, 1);
        const [e] = evidence;
        assert.equal(e!.attestation, 1);
        assert.match(e!.reason, /differs/);
        assert.ok(e!.source.length > 0);
        assert.deepEqual(e!.device.certificate, mine.certificate);
        assert.deepEqual(e!.device.attestations, theirs.attestations);
        assert.deepEqual((await store.getDevice(mine.serial))!.attestations, mine.attestations);
      });
    });

    ldevidContract(
      () => store,
      () => p,
      (s) => reopen(s),
    );
  });
}
