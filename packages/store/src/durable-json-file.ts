/**
 * A lowdb adapter that is durable: write to a temporary file, fsync it, rename it over the old one, fsync the
 * folder. lowdb's own JSONFile never calls fsync.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { CustodyError } from '@custody/core/errors';

/** Atomically replaces `path` with `text`, flushed to disk. */
export function writeFileDurably(path: string, text: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof text === 'string' ? Buffer.from(text) : text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dfd = openSync(dirname(path), 'r');
  try {
    fsyncSync(dfd);
  } finally {
    closeSync(dfd);
  }
}

export class DurableJSONFile<T> implements Adapter<T> {
  constructor(private readonly path: string) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CustodyError('ERR_STORE_IO', `${this.path}: cannot read (${(e as NodeJS.ErrnoException).code})`, { file: this.path, cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new CustodyError('ERR_STORE_CORRUPT', `${this.path}: not valid JSON`, { file: this.path, cause: e });
    }
  }

  async write(data: T): Promise<void> {
    writeFileDurably(this.path, JSON.stringify(data, null, 2) + '\n');
  }
}
