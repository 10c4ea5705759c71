/** The journal record codec: what it writes, that it reads back what it wrote, and what it refuses. */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import {
  decodeRecord,
  encodeAttestationRecord,
  encodeDeviceRecord,
  readHeads,
  readRecord,
  readRecordsFrom,
  JOURNAL_RECORD_VERSION,
  type DeviceDoc,
  type DeviceTip,
} from '../src/journal-record.js';
import { Journal } from '../src/journal.js';

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

describe('journal record codec', function () {
  const at = { file: '/store/journal/00000001.jsonl', offset: 4242 };
  const der = Uint8Array.from({ length: 300 }, (_, i) => (i * 11) & 255);
  const facts = { custodian: 'cd'.repeat(32), activated: false, subject: { name: 'Acme/SN1', digest: { sha256: 'ef'.repeat(32) } } };
  const doc: DeviceDoc = {
    serial: 'SN1',
    certificate: 'Y2VydA==',
    certSerial: '01',
    spkiSha256: 'aa'.repeat(32),
    certSha256: 'bb'.repeat(32),
    issuer: 'issuing',
    issuedAt: '2026-01-02T03:04:05Z',
    attestations: ['YmlydGg='],
    lot: 'L1',
    head: 'cc'.repeat(32),
    log: [0],
  };
  const tip: DeviceTip = { s: 'SN1', n: 1, h: 'cc'.repeat(32), f: facts };
  const att = { t: 'att' as const, s: 'SN1', q: 1, h: 'dd'.repeat(32), l: 1, b: { segment: 1, offset: 0, length: 100 }, f: facts };

  let dir: string;
  let journal: Journal;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-record-'));
    journal = new Journal(dir);
  });
  afterEach(function () {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is version 1', function () {
    assert.equal(JOURNAL_RECORD_VERSION, 1);
  });

  it('writes a device record as its tip, then its document last, as JSON.stringify would', function () {
    const text = encodeDeviceRecord(tip, doc).json;
    assert.equal(text, JSON.stringify({ t: 'device', tip, d: doc }));
    assert.ok(text.indexOf(',"d":') > text.indexOf('"tip":'));
  });

  it('reads back what it wrote: whole, by position, and as heads without the document', async function () {
    const { positions } = await journal.append([encodeDeviceRecord(tip, doc), encodeAttestationRecord(att, der)]);
    const whole = [
      { t: 'device', tip, d: doc },
      { ...att, a: Buffer.from(der).toString('base64') },
    ];
    assert.deepEqual(
      readRecordsFrom(journal, { segment: 1, offset: 0 }).records.map((r) => r.record),
      whole,
    );
    assert.deepEqual(
      positions.map((p) => readRecord(journal, p)),
      whole,
    );
    assert.deepEqual(readHeads(journal, positions), [{ t: 'device', tip }, whole[1]]);
  });

  it('reads records written before tips and facts existed', function () {
    const { head: _h, log: _l, ...old } = doc;
    assert.deepEqual(decodeRecord({ t: 'device', d: old }, at), { t: 'device', d: old });
    assert.deepEqual(decodeRecord({ t: 'device' }, at, true), { t: 'device' });
    const { f: _f, ...bare } = att;
    assert.deepEqual(decodeRecord({ ...bare, a: 'AA==' }, at), { ...bare, a: 'AA==' });
  });

  it('refuses a record of another version with ERR_STORE_VERSION naming the file and offset, and takes an explicit 1', function () {
    for (const v of [2, 0, '1', null]) {
      assert.throws(
        () => decodeRecord({ v, t: 'device', tip, d: doc }, at),
        (e: Error & { code?: string }) => e.code === 'ERR_STORE_VERSION' && e.message.startsWith(`${at.file}: journal record at byte ${at.offset} `),
      );
    }
    assert.deepEqual(decodeRecord({ v: 1, ...att, a: 'AA==' }, at), { v: 1, ...att, a: 'AA==' });
  });

  it('refuses every malformed record with ERR_STORE_CORRUPT naming the file and offset, never another exception', function () {
    const a = { ...att, a: 'AA==' };
    const malformed: unknown[] = [
      null,
      7,
      'text',
      [],
      {},
      { t: 'commit', n: 1 },
      { t: 'other' },
      { t: 'device' },
      { t: 'device', tip },
      { t: 'device', d: null },
      { t: 'device', d: { ...doc, attestations: [1] } },
      { t: 'device', d: { ...doc, serial: 5 } },
      { t: 'device', d: { ...doc, log: [-1] } },
      { t: 'device', d: { ...doc, head: 'xyz' } },
      { t: 'device', d: { ...doc, chain: 'x' } },
      { t: 'device', d: { ...doc, model: 3 } },
      { t: 'device', d: { ...doc, issuedAt: undefined } },
      { t: 'device', tip: { ...tip, n: -1 }, d: doc },
      { t: 'device', tip: { ...tip, h: 5 }, d: doc },
      { t: 'device', tip: { ...tip, f: { ...facts, activated: 'no' } }, d: doc },
      { ...a, s: 1 },
      { ...a, q: 1.5 },
      { ...a, a: null },
      { ...a, h: 'AB'.repeat(32) },
      { ...a, l: '3' },
      { ...a, b: null },
      { ...a, b: { segment: 1, offset: 0 } },
      { ...a, f: { ...facts, subject: { name: 'x' } } },
      { ...a, f: { ...facts, custodian: 'x' } },
    ];
    for (const value of malformed) {
      assert.throws(
        () => decodeRecord(value, at),
        (e: Error & { code?: string }) =>
          e.code === 'ERR_STORE_CORRUPT' && e.message.startsWith(`${at.file}: journal record at byte ${at.offset} does not decode`),
        JSON.stringify(value),
      );
    }
  });

  it('refuses, through the journal, a line whose checksum matches but whose record does not decode, naming its segment and offset', async function () {
    const { end } = await journal.append([encodeDeviceRecord(tip, doc)]);
    const bogus = '{"t":"att","s":"SN1"}';
    const notJSON = '{"t":"att",';
    for (const text of [bogus, notJSON]) {
      const file = journal.segmentFile(1);
      const offset = journal.end().offset;
      appendFileSync(file, `${crc32(Buffer.from(text)).toString(16).padStart(8, '0')} ${text}\n`);
      const commit = '{"t":"commit","n":1}';
      appendFileSync(file, `${crc32(Buffer.from(commit)).toString(16).padStart(8, '0')} ${commit}\n`);
      assert.throws(
        () => readRecordsFrom(journal, end, false),
        (e: Error & { code?: string }) => e.code === 'ERR_STORE_CORRUPT' && e.message.startsWith(`${file}: journal`) && e.message.includes(`byte ${offset}`),
        text,
      );
      assert.throws(() => readRecord(journal, { segment: 1, offset, length: text.length + 10 }), { code: 'ERR_STORE_CORRUPT' });
      rmSync(file);
      journal.close();
      journal = new Journal(dir);
      await journal.append([encodeDeviceRecord(tip, doc)]);
    }
  });
});
