/**
 * fileSize: the size fstat gives, whatever its magnitude (a small integer below 1 GiB, the double beyond).
 */
import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSize } from '../src/file-size.js';

describe('fileSize', function () {
  let dir: string;
  let fd: number;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), 'custody-size-'));
    fd = openSync(join(dir, 'f'), 'w+');
  });
  afterEach(function () {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the size of a small file', function () {
    assert.equal(fileSize(fd), 0);
    writeSync(fd, Buffer.alloc(1234, 1));
    assert.equal(fileSize(fd), 1234);
  });

  it('gives sizes at and past 1 GiB and 4 GiB exactly (sparse files)', function () {
    for (const size of [2 ** 30 - 1, 2 ** 30, 2 ** 31 + 5, 2 ** 32 + 7]) {
      ftruncateSync(fd, size);
      assert.equal(fileSize(fd), size);
    }
  });
});
