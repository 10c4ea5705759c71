/** The embedded store's journal records of devices. */
import assert from 'node:assert/strict';
import { encodeAttestationRecord } from '../src/device-records.js';

describe('encodeAttestationRecord', function () {
  const der = Uint8Array.from({ length: 761 }, (_, i) => (i * 37) & 255);
  const fields = { t: 'att' as const, s: 'SN000042', q: 3, h: 'ab'.repeat(32), l: 123_456, b: { segment: 2, offset: 67_000_000, length: 2652 } };

  it('writes exactly the JSON that JSON.stringify writes for the record, its DER in base64', function () {
    for (const s of ['SN000042', 'zwei ü', 'quote " and \\ backslash', 'line\nbreak', '']) {
      const r = { ...fields, s };
      const want = JSON.stringify({ t: 'att', s, q: r.q, a: Buffer.from(der).toString('base64'), h: r.h, l: r.l, b: r.b });
      assert.equal(encodeAttestationRecord(r, der).json, want, s);
    }
  });

  it('writes the facts as JSON.stringify does, after the other fields', function () {
    for (const name of ['Acme/SN000042', 'Gerät "7" \\ Ü/SN1']) {
      for (const activated of [false, true]) {
        const f = { custodian: 'cd'.repeat(32), activated, subject: { name, digest: { sha256: 'ef'.repeat(32) } } };
        const r = { ...fields, f };
        const want = JSON.stringify({ t: 'att', s: r.s, q: r.q, a: Buffer.from(der).toString('base64'), h: r.h, l: r.l, b: r.b, f });
        const encoded = encodeAttestationRecord(r, der);
        assert.equal(encoded.json, want, name);
        assert.equal(encoded.ascii, !/[^\x20-\x7e]/.test(name), name);
      }
    }
    const f = { custodian: 'cd'.repeat(32), activated: false, subject: { name: 'n', digest: { sha256: 'ef'.repeat(32) } } };
    assert.throws(() => encodeAttestationRecord({ ...fields, f: { ...f, custodian: `${'c'.repeat(63)}"` } }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, f: { ...f, subject: { name: 'n', digest: { sha256: 'EF'.repeat(32) } } } }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, f: { ...f, activated: 'yes' as unknown as boolean } }, der), TypeError);
  });

  it('promises ASCII only when the text has no character past U+007F, so that the journal may write it as Latin-1', function () {
    for (const s of ['SN000042', 'quote " and \\ backslash', 'line\nbreak', '']) assert.equal(encodeAttestationRecord({ ...fields, s }, der).ascii, true, s);
    for (const s of ['zwei ü', 'Gerät-7', '\u{1F600}']) assert.equal(encodeAttestationRecord({ ...fields, s }, der).ascii, false, s);
  });

  it('refuses a hash that is not 64 hex digits, numbers that are not integers and a serial that is not a string, rather than write them unescaped', function () {
    assert.throws(() => encodeAttestationRecord({ ...fields, h: `${'a'.repeat(63)}"` }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, h: 'AB'.repeat(32) }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, q: Number.NaN }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, b: { ...fields.b, offset: 1.5 } }, der), TypeError);
    assert.throws(() => encodeAttestationRecord({ ...fields, s: undefined as unknown as string }, der), TypeError);
  });
});
