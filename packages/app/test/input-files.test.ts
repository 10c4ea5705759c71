/**
 * Reading what a user (or a hostile party) hands the CLI (issue 17): `readInputFile` takes regular files of
 * bounded size only, and the JSON and YAML readers of claims and consistency proofs are strict.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustodyError, EXIT_CODES, categoryOf } from '@custody/core';
import { INPUT_LIMITS, readInputFile, readPassphrase } from '../src/context.js';
import { readConsistencyProofs } from '../src/log.js';
import { readClaimsFile } from '../src/parties.js';

describe('input files (ops/context.ts readInputFile)', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'custody-input-files-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const file = (name: string, content: string | Buffer): string => {
    const p = join(tmp, name);
    writeFileSync(p, content);
    return p;
  };

  it('reads a regular file whole, at and under its bound', () => {
    assert.equal(readInputFile(file('small.txt', 'hello'), 'list').toString(), 'hello');
    assert.equal(readInputFile(file('empty.txt', ''), 'list').length, 0);
    const atBound = Buffer.alloc(INPUT_LIMITS.logKey.maxBytes, 0x61);
    assert.deepEqual(readInputFile(file('at-bound.txt', atBound), 'logKey'), atBound);
  });

  it('refuses one byte over the bound with ERR_INPUT_TOO_LARGE naming file, size and bound', () => {
    const p = file('over.txt', Buffer.alloc(INPUT_LIMITS.logKey.maxBytes + 1));
    assert.throws(() => readInputFile(p, 'logKey'), {
      code: 'ERR_INPUT_TOO_LARGE',
      message: `${p}: is 4097 bytes, more than the 4096 bytes a log key file may have`,
    });
  });

  it('refuses a sparse 4 GiB file at once, without reading it', () => {
    const p = file('sparse.json', '');
    truncateSync(p, 4 * 1024 ** 3);
    const t0 = Date.now();
    assert.throws(() => readInputFile(p, 'bundle'), { code: 'ERR_INPUT_TOO_LARGE' });
    assert.ok(Date.now() - t0 < 1000);
  });

  it('reads a file that reports no size only to its bound (/proc files; a file growing while read)', function () {
    // /proc/self/smaps says 0 bytes and holds far more than 4 KiB.
    if (!existsSync('/proc/self/smaps')) this.skip();
    assert.throws(() => readInputFile('/proc/self/smaps', 'logKey'), { code: 'ERR_INPUT_TOO_LARGE', message: /grew while read to more than the 4096 bytes/ });
    assert.ok(readInputFile('/proc/self/smaps', 'list').length > 4096);
  });

  it('refuses a directory, a FIFO, a device and a symlink to one with ERR_INPUT_NOT_FILE, without blocking', () => {
    const dir = join(tmp, 'a-dir.json');
    mkdirSync(dir);
    const fifo = join(tmp, 'fifo.json');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const link = join(tmp, 'zero.json');
    symlinkSync('/dev/zero', link);
    for (const [p, what] of [
      [dir, 'a directory'],
      [fifo, 'a FIFO (named pipe)'],
      ['/dev/null', 'a character device'],
      [link, 'a character device'],
    ] as const) {
      assert.throws(() => readInputFile(p, 'bundle'), { code: 'ERR_INPUT_NOT_FILE', message: `${p}: is ${what}, not a regular file` });
    }
  });

  it('refuses a missing or unreadable file with ERR_INPUT_READ naming it', () => {
    const p = join(tmp, 'missing.pem');
    assert.throws(() => readInputFile(p, 'certificate'), { code: 'ERR_INPUT_READ', message: `${p}: cannot read (ENOENT)` });
    assert.throws(() => readInputFile(join(tmp, 'small.txt', 'below'), 'certificate'), { code: 'ERR_INPUT_READ', message: /cannot read \(ENOTDIR\)/ });
  });

  it('every input code is bad input: exit 3', () => {
    for (const code of ['ERR_INPUT_READ', 'ERR_INPUT_NOT_FILE', 'ERR_INPUT_TOO_LARGE']) assert.equal(EXIT_CODES[categoryOf(code)], 3, code);
  });

  it('has one bound per kind of input, each a positive whole number of bytes', () => {
    for (const [kind, { what, maxBytes }] of Object.entries(INPUT_LIMITS)) {
      assert.ok(Number.isSafeInteger(maxBytes) && maxBytes > 0, kind);
      assert.ok(what.length > 0, kind);
    }
    assert.equal(INPUT_LIMITS.bundle.maxBytes, 1 << 20);
  });

  describe('claims files are read strictly', () => {
    const refused = async (name: string, content: string, code: string, message: RegExp) => {
      const p = file(name, content);
      await assert.rejects(readClaimsFile(p), (e: unknown) => {
        assert.ok(e instanceof CustodyError);
        assert.equal(e.code, code, e.message);
        assert.match(e.message, message);
        assert.ok(e.message.startsWith(p), e.message);
        return true;
      });
    };

    it('accepts JSON and YAML claims', async () => {
      assert.deepEqual(await readClaimsFile(file('ok.json', '{"secureBoot":{"enabled":true}}')), { secureBoot: { enabled: true } });
      assert.deepEqual(await readClaimsFile(file('ok.yaml', 'secureBoot:\n  enabled: true\n')), { secureBoot: { enabled: true } });
    });

    it('refuses a JSON claim named twice (JSON.parse kept the last)', () =>
      refused(
        'dup.json',
        '{"secureBoot":{"enabled":true},"secureBoot":{"enabled":false}}',
        'ERR_CLAIMS_FILE',
        /not valid JSON \(duplicate member name "secureBoot" in the top-level object\)/,
      ));
    it('refuses a YAML claim named twice', () =>
      refused('dup.yaml', 'secureBoot: {enabled: true}\nsecureBoot: {enabled: false}\n', 'ERR_CLAIMS_FILE', /not valid YAML \(duplicate key "secureBoot"\)/));
    it('refuses YAML keys that differ as YAML but are one JavaScript name (1 and "1")', () =>
      refused('collide.yaml', '"acme.example/x":\n  1: a\n  "1": b\n', 'ERR_CLAIMS_FILE', /not valid YAML \(duplicate key "1"\)/));
    it('holds a YAML claims file to the YAML limits: an alias and deep nesting are refused with their line (issue 19)', async () => {
      await refused('alias.yaml', 'secureBoot: &s {enabled: true}\nsignedUpdates: *s\n', 'ERR_CLAIMS_FILE', /not valid YAML \(line 2: aliases are not allowed/);
      await refused(
        'deep.yaml',
        `secureBoot: ${'['.repeat(40_000)}${']'.repeat(40_000)}\n`,
        'ERR_CLAIMS_FILE',
        /not valid YAML \(line 1: nested deeper than 64 levels\)/,
      );
    });
    it('refuses a YAML collection as a key', () => refused('key.yaml', '"acme.example/x":\n  ? [a]\n  : 1\n', 'ERR_CLAIMS_FILE', /a key is not a plain value/));
    it('refuses __proto__ in JSON (escaped too) and in YAML', async () => {
      await refused('proto.json', '{"acme.example/x":{"\\u005f_proto__":{"a":1}}}', 'ERR_CLAIMS_FILE', /"__proto__"/);
      await refused('proto.yaml', '"acme.example/x":\n  __proto__: {a: 1}\n', 'ERR_CLAIMS_INVALID', /"__proto__"/);
      await refused('proto-top.yaml', '__proto__: {a: 1}\n', 'ERR_CLAIMS_UNKNOWN', /unknown claim "__proto__"/);
    });
  });

  describe('consistency proofs are read strictly', () => {
    const proof = { origin: 'log.example', oldSize: 1, newSize: 2, oldRoot: 'x', newRoot: 'y', hashes: [Buffer.alloc(32).toString('base64')] };

    it('reads a proof', () => {
      const [p] = readConsistencyProofs([file('proof.json', JSON.stringify(proof))]);
      assert.equal(p!.newSize, 2);
    });

    it('refuses a proof naming a member twice', () => {
      const p = file('dup-proof.json', JSON.stringify(proof).replace('"newSize":2', '"newSize":2,"newSize":7'));
      assert.throws(() => readConsistencyProofs([p]), {
        code: 'ERR_INPUT_READ',
        message: `${p}: not a consistency proof: duplicate member name "newSize" in the top-level object`,
      });
    });

    it('refuses JSON that is not an object with its code, not a TypeError', () => {
      for (const text of ['null', '7', '[]']) assert.throws(() => readConsistencyProofs([file('not-object.json', text)]), { code: 'ERR_LOG_CONSISTENCY_FILE' });
    });
  });
});

describe('passphrase files (context.ts readPassphrase)', () => {
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'custody-passphrase-file-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('a passphrase file is bounded like every other input: an oversized one is refused before it is read', () => {
    const p = join(tmp, 'huge.txt');
    writeFileSync(p, '');
    truncateSync(p, 1024 ** 3);
    assert.throws(() => readPassphrase(p), {
      code: 'ERR_INPUT_TOO_LARGE',
      message: `${p}: is ${1024 ** 3} bytes, more than the 4096 bytes a passphrase file may have`,
    });
  });

  it('reads the first line; a missing file stays ERR_IO', () => {
    const p = join(tmp, 'pass.txt');
    writeFileSync(p, 'secret\nignored\n');
    assert.equal(readPassphrase(p), 'secret');
    assert.throws(() => readPassphrase(join(tmp, 'missing.txt')), { code: 'ERR_IO', message: /cannot read passphrase file \(ENOENT\)/ });
  });
});
