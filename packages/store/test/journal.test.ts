/**
 * The write-ahead journal: checksummed JSON lines, a torn tail cut off on read, damage anywhere else an error.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncodedRecord, Journal } from '../src/journal.js';

const SEGMENT = '00000001.jsonl';

describe('Journal', function () {
  let dir: string;
  let journal: Journal;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-journal-'));
    journal = new Journal(dir);
  });
  afterEach(function () {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const segmentFile = () => join(dir, SEGMENT);

  describe('append and readFrom', function () {
    it('rejects (never throws) an append whose write fails, and the journal stays as it was', async function () {
      await journal.append([{ n: 1 }]);
      const before = readFileSync(segmentFile());
      // Writes to /dev/full fail with ENOSPC: the segment after this one is made a link to it.
      const full = new Journal(dir);
      symlinkSync('/dev/full', join(dir, '00000002.jsonl'));
      let pending: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (pending = full.append([{ n: 2 }])));
      await assert.rejects(pending!, /ENOSPC/);
      full.close();
      rmSync(join(dir, '00000002.jsonl'));
      assert.deepEqual(readFileSync(segmentFile()), before);
      assert.deepEqual(
        journal.readFrom({ segment: 1, offset: 0 }).records.map((r) => r.record),
        [{ n: 1 }],
      );
    });

    it('reads back every record in order, with the positions append reported', async function () {
      const first = await journal.append([{ n: 1 }, { n: 2, s: 'zwei ü' }]);
      const second = await journal.append([{ n: 3 }]);
      const { records, end } = journal.readFrom({ segment: 1, offset: 0 });
      assert.deepEqual(
        records.map((r) => r.record),
        [{ n: 1 }, { n: 2, s: 'zwei ü' }, { n: 3 }],
      );
      assert.deepEqual(
        records.map((r) => r.pos),
        [...first.positions, ...second.positions],
      );
      assert.deepEqual(end, second.end);
      assert.equal(end.offset, statSync(segmentFile()).size);
    });

    it('writes one checksummed JSON line per record', async function () {
      await journal.append([{ a: 1 }, { b: [1, 2] }]);
      const lines = readFileSync(segmentFile(), 'utf8').split('\n');
      assert.equal(lines.at(-1), '');
      for (const line of lines.slice(0, -1)) assert.match(line, /^[0-9a-f]{8} \{.*\}$/);
    });

    it('reads only what follows a given position', async function () {
      await journal.append([{ n: 1 }]);
      const { end } = await journal.append([{ n: 2 }]);
      await journal.append([{ n: 3 }, { n: 4 }]);
      const { records } = journal.readFrom(end);
      assert.deepEqual(
        records.map((r) => r.record),
        [{ n: 3 }, { n: 4 }],
      );
    });

    it('returns nothing for an empty journal, ending where it started', async function () {
      const { records, end } = journal.readFrom({ segment: 1, offset: 0 });
      assert.deepEqual(records, []);
      assert.deepEqual(end, { segment: 1, offset: 0 });
    });

    it('sees what another Journal instance appended to the same folder', async function () {
      await journal.append([{ n: 1 }]);
      const other = new Journal(dir);
      try {
        const { end } = await other.append([{ n: 2 }]);
        assert.deepEqual(journal.end(), end);
        const { positions } = await journal.append([{ n: 3 }]);
        assert.equal(positions[0]!.offset, end.offset);
        assert.deepEqual(
          journal.readFrom({ segment: 1, offset: 0 }).records.map((r) => r.record),
          [{ n: 1 }, { n: 2 }, { n: 3 }],
        );
      } finally {
        other.close();
      }
    });
  });

  describe('readAt', function () {
    it('returns the record at each position', async function () {
      const { positions } = await journal.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
      assert.deepEqual(journal.readAt(positions[1]!), { n: 2 });
      assert.deepEqual(journal.readAt(positions[2]!), { n: 3 });
      assert.deepEqual(journal.readAt(positions[0]!), { n: 1 });
    });

    it('keeps what one read or append returned intact through the next ones, small and larger than before', async function () {
      // Reads and appends reuse their buffers: a record or position handed out must not change with them.
      const a = await journal.append([{ n: 1, s: 'a'.repeat(100) }, { n: 2 }]);
      const first = journal.readMany(a.positions);
      const b = await journal.append([
        { n: 3, s: 'b'.repeat(200_000) },
        { n: 4, s: 'c'.repeat(50) },
      ]);
      const second = journal.readMany([...b.positions, a.positions[1]!]);
      await journal.append([{ n: 5, s: 'd'.repeat(300) }]);
      journal.readMany([a.positions[0]!]);
      assert.deepEqual(first, [{ n: 1, s: 'a'.repeat(100) }, { n: 2 }]);
      assert.deepEqual(second, [{ n: 3, s: 'b'.repeat(200_000) }, { n: 4, s: 'c'.repeat(50) }, { n: 2 }]);
      assert.deepEqual(b.positions[1], { segment: 1, offset: b.positions[0]!.offset + b.positions[0]!.length, length: b.positions[1]!.length });
      assert.deepEqual(
        journal
          .readFrom({ segment: 1, offset: 0 })
          .records.map((r) => (r.record as { n?: number }).n)
          .filter((n) => n !== undefined),
        [1, 2, 3, 4, 5],
      );
    });

    it('reads records with characters past ASCII as UTF-8, beside ASCII ones, whichever way they were written, whole or in parts', async function () {
      const text = JSON.stringify({ s: 'Gerät ü \u{1F600}' });
      const parts = [new EncodedRecord(['{"s":"', 'Gerät', '","n":', '5}']), new EncodedRecord(['{"a":"', 'x'.repeat(2000), '"}'], true)];
      const { positions } = await journal.append([{ n: 1 }, { s: 'zwei ü' }, new EncodedRecord(text), new EncodedRecord('{"n":4}', true), ...parts]);
      assert.deepEqual(
        positions.map((p) => journal.readAt(p)),
        [{ n: 1 }, { s: 'zwei ü' }, { s: 'Gerät ü \u{1F600}' }, { n: 4 }, { s: 'Gerät', n: 5 }, { a: 'x'.repeat(2000) }],
      );
      assert.equal(positions[2]!.length, Buffer.byteLength(text) + 10);
    });

    it('reads records up to a last field it is asked to leave out, and others whole', async function () {
      const records = [
        { t: 'device', tip: { s: 'quote ",\\"d\\": inside', n: 1 }, d: { big: 'x'.repeat(3000), d: 1 } },
        { t: 'att', s: 'A1', b: { segment: 1 } },
        { t: 'device', d: { serial: 'old' } },
        { t: 'device', tip: { s: 'Gerät' }, d: {} },
      ];
      const { positions } = await journal.append(records);
      assert.deepEqual(journal.readMany(positions, 'd'), [
        { t: 'device', tip: records[0]!.tip },
        records[1],
        { t: 'device' },
        { t: 'device', tip: { s: 'Gerät' } },
      ]);
      assert.deepEqual(journal.readMany(positions), records);
    });

    it('checks the checksum of the whole line when it leaves a field out', async function () {
      const { positions } = await journal.append([{ t: 'device', tip: { n: 1 }, d: { big: 'x'.repeat(100) } }]);
      const bytes = readFileSync(segmentFile());
      bytes[positions[0]!.length - 20] = 'y'.charCodeAt(0);
      writeFileSync(segmentFile(), bytes);
      assert.throws(() => new Journal(dir).readMany(positions, 'd'), { code: 'ERR_STORE_CORRUPT' });
    });

    it('refuses a damaged record with ERR_STORE_CORRUPT', async function () {
      const { positions } = await journal.append([{ value: 'aaaa' }, { value: 'bbbb' }]);
      const bytes = readFileSync(segmentFile());
      const at = bytes.indexOf('bbbb');
      bytes[at] = 'c'.charCodeAt(0);
      writeFileSync(segmentFile(), bytes);
      assert.throws(() => journal.readAt(positions[1]!), { code: 'ERR_STORE_CORRUPT' });
      assert.deepEqual(journal.readAt(positions[0]!), { value: 'aaaa' });
    });

    it('refuses a position that does not start a record with ERR_STORE_CORRUPT', async function () {
      const { positions } = await journal.append([{ n: 1 }, { n: 2 }]);
      assert.throws(() => journal.readAt({ ...positions[1]!, offset: positions[1]!.offset + 1 }), { code: 'ERR_STORE_CORRUPT' });
    });

    it('refuses a position in a missing segment with ERR_STORE_CORRUPT', async function () {
      const { positions } = await journal.append([{ n: 1 }]);
      assert.throws(() => journal.readAt({ ...positions[0]!, segment: 7 }), { code: 'ERR_STORE_CORRUPT' });
    });
  });

  describe('torn tail', function () {
    it('cuts off a partial last line (a crash mid-append) and appends cleanly after it', async function () {
      const { end, positions } = await journal.append([{ n: 1 }, { n: 2, padding: 'x'.repeat(40) }]);
      const secondLine = readFileSync(segmentFile()).subarray(positions[1]!.offset);
      // The first 30 bytes of a record that never got its newline.
      appendFileSync(segmentFile(), secondLine.subarray(0, 30));
      const read = journal.readFrom({ segment: 1, offset: 0 });
      assert.deepEqual(
        read.records.map((r) => r.record),
        [{ n: 1 }, { n: 2, padding: 'x'.repeat(40) }],
      );
      assert.deepEqual(read.end, end);
      assert.equal(statSync(segmentFile()).size, end.offset, 'the torn bytes are gone from the file');
      await journal.append([{ n: 3 }]);
      assert.deepEqual(
        journal.readFrom({ segment: 1, offset: 0 }).records.map((r) => (r.record as { n: number }).n),
        [1, 2, 3],
      );
    });

    it('cuts off a torn tail that a reader finds from the watermark on', async function () {
      const { end } = await journal.append([{ n: 1 }]);
      appendFileSync(segmentFile(), '0badc0de {"n":');
      const read = journal.readFrom(end);
      assert.deepEqual(read.records, []);
      assert.deepEqual(read.end, end);
      assert.equal(statSync(segmentFile()).size, end.offset);
    });

    it('cuts off a last line whose checksum does not match (the newline landed, the bytes before it did not)', async function () {
      const { end } = await journal.append([{ n: 1 }]);
      appendFileSync(segmentFile(), '00000000 {"n":2}\n');
      const read = journal.readFrom({ segment: 1, offset: 0 });
      assert.deepEqual(
        read.records.map((r) => r.record),
        [{ n: 1 }],
      );
      assert.equal(statSync(segmentFile()).size, end.offset);
    });
  });

  describe('damage in the middle', function () {
    it('is ERR_STORE_CORRUPT, and the journal is left as it was', async function () {
      await journal.append([{ value: 'first' }, { value: 'second' }, { value: 'third' }]);
      const bytes = readFileSync(segmentFile());
      bytes[bytes.indexOf('second')] = 'S'.charCodeAt(0);
      writeFileSync(segmentFile(), bytes);
      assert.throws(
        () => journal.readFrom({ segment: 1, offset: 0 }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'ERR_STORE_CORRUPT');
          assert.match(e.message, /00000001\.jsonl/);
          assert.match(e.message, /checksum/);
          return true;
        },
      );
      assert.deepEqual(readFileSync(segmentFile()), bytes, 'nothing cut off');
    });

    it('is ERR_STORE_CORRUPT for a lost newline between two records', async function () {
      await journal.append([{ n: 1 }, { n: 2 }, { n: 3 }]);
      const bytes = readFileSync(segmentFile());
      bytes[bytes.indexOf(0x0a)] = 0x20;
      writeFileSync(segmentFile(), bytes);
      assert.throws(() => journal.readFrom({ segment: 1, offset: 0 }), { code: 'ERR_STORE_CORRUPT' });
      assert.equal(statSync(segmentFile()).size, bytes.length);
    });
  });

  describe('watermark', function () {
    it('starts at the beginning and reads back what was written', async function () {
      assert.deepEqual(journal.readWatermark(), { segment: 1, offset: 0 });
      const { end } = await journal.append([{ n: 1 }]);
      journal.writeWatermark(end);
      assert.deepEqual(new Journal(dir).readWatermark(), end);
    });
  });
});
