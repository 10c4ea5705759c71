/**
 * The one place commands write output files. An output is checked before the command records anything
 * (`prepareOutput`: the folder is there, nothing is in the way, a file can be made there), written under a
 * temporary name in its own folder (`writeOutput`: flushed to disk), and moved into place only once the store
 * has recorded what it describes (`commitOutputs`). A failed command removes its temporary files and the folders
 * it made (`discardOutputs`), so that it leaves the output folder as it found it.
 */
import { closeSync, fsyncSync, lstatSync, mkdirSync, opendirSync, openSync, renameSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { CustodyError } from '@custody/core/errors';

/** An output checked by `prepareOutput`: its final path and the temporary file that holds it until commit. */
export interface PreparedOutput {
  /** The path as the user gave it (named in messages). */
  path: string;
  /** The temporary file beside it: made (empty) by `prepareOutput`, or when written. */
  temp: string;
  /** Its file mode (before the umask). */
  mode: number;
  /** Whether it is in place (after `commitOutputs`). */
  committed: boolean;
}

/** Folders `prepareFolder` made, outermost first, for `discardOutputs` to remove again. */
export interface PreparedFolder {
  path: string;
  created: string[];
}

const errnoOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code;

/**
 * The error for an OS refusal about `path`: ERR_IO_NO_FOLDER (a folder on the way is missing or is a file),
 * ERR_IO_EXISTS (something is already there), else ERR_IO_WRITE. CustodyErrors pass through.
 */
export function outputError(path: string, e: unknown): CustodyError {
  if (e instanceof CustodyError) return e;
  const errno = errnoOf(e);
  if (errno === 'ENOENT') return new CustodyError('ERR_IO_NO_FOLDER', `${path}: the folder ${dirname(resolve(path))} does not exist`, { file: path, cause: e });
  if (errno === 'ENOTDIR') return new CustodyError('ERR_IO_NO_FOLDER', `${path}: a part of this path is a file, not a folder`, { file: path, cause: e });
  if (errno === 'EEXIST') return new CustodyError('ERR_IO_EXISTS', `${path}: already exists (give --force to replace it)`, { file: path, cause: e });
  return new CustodyError('ERR_IO_WRITE', `${path}: cannot write (${errno ?? (e as Error)?.message ?? String(e)})`, { file: path, cause: e });
}

/**
 * Makes sure `dir` is a folder, creating it and any missing parents; remembers which it created.
 * @throws ERR_IO_NO_FOLDER when a part of the path is a file, ERR_IO_WRITE when the OS refuses
 */
export function prepareFolder(dir: string): PreparedFolder {
  const missing: string[] = [];
  let at = resolve(dir);
  for (;;) {
    let st;
    try {
      st = statSync(at);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw outputError(dir, e);
      missing.unshift(at);
      at = dirname(at);
      continue;
    }
    if (!st.isDirectory()) throw new CustodyError('ERR_IO_NO_FOLDER', `${dir}: ${at} is a file, not a folder`, { file: dir });
    break;
  }
  const folder: PreparedFolder = { path: dir, created: [] };
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      removeFolders(folder);
      throw outputError(dir, e);
    }
    folder.created.push(d);
  }
  return folder;
}

/**
 * Checks that `path` can be written and reserves a temporary file beside it (mode `mode`, e.g. 0o600 for keys).
 * Its folder must exist (see `prepareFolder`); a file already at `path` is refused unless `force`.
 * @throws ERR_IO_NO_FOLDER, ERR_IO_EXISTS, ERR_IO_WRITE
 */
export function prepareOutput(path: string, o: { force?: boolean; mode?: number } = {}): PreparedOutput {
  const full = resolve(path);
  const folder = dirname(full);
  let st;
  try {
    st = statSync(folder);
  } catch (e) {
    throw outputError(path, e);
  }
  if (!st.isDirectory()) throw new CustodyError('ERR_IO_NO_FOLDER', `${path}: ${folder} is a file, not a folder`, { file: path });
  const out = planOutput(path, o);
  reserve(out);
  return out;
}

/**
 * `prepareOutput` for many files of one folder that `prepareFolder` made sure of: each name is checked (none when
 * the folder is empty, as a new output folder is), and one temporary file (the one with the longest path) is made
 * to show that the folder takes them; the others are made when written. Saves a stat, a random draw and a file
 * creation per output in a large batch.
 * @throws ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE, ERR_IO_NO_FOLDER
 */
export function prepareOutputsIn(folder: string, names: readonly string[], o: { force?: boolean; mode?: number } = {}): PreparedOutput[] {
  const empty = isEmptyFolder(folder);
  const tag = tempTag();
  const outs = names.map((name) => planOutput(join(folder, name), o, tag, empty && name === basename(name)));
  const longest = outs.reduce<PreparedOutput | undefined>((a, b) => (a === undefined || b.temp.length > a.temp.length ? b : a), undefined);
  if (longest) reserve(longest);
  return outs;
}

/** True when `folder` holds nothing (its first entry read, not the whole listing); false when it cannot be read. */
function isEmptyFolder(folder: string): boolean {
  let dir;
  try {
    dir = opendirSync(folder);
    return dir.readSync() === null;
  } catch {
    return false;
  } finally {
    dir?.closeSync();
  }
}

/** A temporary name's part that no other run shares: this process, and a random draw. */
const tempTag = () => `${process.pid}-${randomBytes(4).toString('hex')}`;

/**
 * An output's checks that do not touch its folder: nothing in the way unless `force`, and its temporary name
 * (`tag` unique to the run; names in one run differ). `inEmptyFolder`: its folder was found empty, nothing to look up.
 */
function planOutput(path: string, o: { force?: boolean; mode?: number }, tag = tempTag(), inEmptyFolder = false): PreparedOutput {
  const full = resolve(path);
  let existing;
  if (!inEmptyFolder) {
    try {
      existing = lstatSync(full);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw outputError(path, e);
    }
  }
  if (existing?.isDirectory()) throw new CustodyError('ERR_IO_EXISTS', `${path}: is a folder; give a file name`, { file: path });
  if (existing && !o.force) throw new CustodyError('ERR_IO_EXISTS', `${path}: already exists (give --force to replace it)`, { file: path });
  const temp = join(dirname(full), `.${basename(full)}.${tag}.tmp`);
  return { path, temp, mode: o.mode ?? 0o666, committed: false };
}

/**
 * Makes an output's temporary file: the test that the folder takes new files, as mode bits say nothing to root,
 * and a read-only mount, a full quota or a path too long only show when a file is made.
 */
function reserve(out: PreparedOutput): void {
  try {
    closeSync(openSync(out.temp, 'wx', out.mode));
  } catch (e) {
    throw outputError(out.path, e);
  }
}

/**
 * Writes an output's content into its temporary file, and flushes it to disk unless `flush` is false (for a file
 * the store can give again, where a flush per file would cost more than the rest of the write).
 * @throws ERR_IO_WRITE (disk full, ...), naming the output
 */
export function writeOutput(out: PreparedOutput, data: string | Uint8Array, o: { flush?: boolean } = {}): void {
  let fd: number | undefined;
  try {
    fd = openSync(out.temp, 'w', out.mode);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < bytes.byteLength;) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    if (o.flush !== false) fsyncSync(fd);
  } catch (e) {
    throw outputError(out.path, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes flushed at once: a journalling file system commits concurrent flushes together. */
const FLUSH_CONCURRENCY = 16;

/**
 * `writeOutput` (flushed) for many outputs, several at a time: a batch of device keys costs a fraction of one
 * flush after another.
 * @throws ERR_IO_WRITE (disk full, ...), naming the first output that failed
 */
export async function writeOutputs(items: ReadonlyArray<readonly [PreparedOutput, string | Uint8Array]>): Promise<void> {
  let next = 0;
  let failure: { e: unknown } | undefined;
  const lane = async () => {
    while (next < items.length && !failure) {
      const [out, data] = items[next++]!;
      let handle: FileHandle | undefined;
      try {
        handle = await open(out.temp, 'w', out.mode);
        await handle.writeFile(data);
        await handle.sync();
      } catch (e) {
        failure ??= { e: outputError(out.path, e) };
      } finally {
        await handle?.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FLUSH_CONCURRENCY, items.length) }, lane));
  if (failure) throw failure.e;
}

/**
 * Moves written outputs into place, in order, then flushes their folders' entries.
 * @throws ERR_IO_WRITE naming the first output that could not be moved (those before it are in place)
 */
export function commitOutputs(outs: readonly PreparedOutput[]): void {
  const folders = new Set<string>();
  for (const out of outs) {
    if (out.committed) continue;
    try {
      renameSync(out.temp, resolve(out.path));
    } catch (e) {
      throw outputError(out.path, e);
    }
    out.committed = true;
    folders.add(dirname(resolve(out.path)));
  }
  for (const f of folders) syncFolder(f);
}

/** Removes the temporary files of outputs not committed, then the folders this run made, if they are empty. */
export function discardOutputs(outs: readonly PreparedOutput[], folder?: PreparedFolder): void {
  for (const out of outs) {
    if (out.committed) continue;
    try {
      unlinkSync(out.temp);
    } catch {
      // Already gone, or never made: nothing to clean.
    }
  }
  if (folder) removeFolders(folder);
}

/** Prepares, writes and commits one output whose content is ready now (nothing to record first). */
export function writeOutputFile(path: string, data: string | Uint8Array, o: { force?: boolean; mode?: number } = {}): void {
  const out = prepareOutput(path, o);
  try {
    writeOutput(out, data);
    commitOutputs([out]);
  } catch (e) {
    discardOutputs([out]);
    throw e;
  }
}

function removeFolders(folder: PreparedFolder): void {
  for (const d of [...folder.created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      // Not empty (someone else's file, or a committed output): it stays.
      return;
    }
  }
}

/** Flushes a folder's entries so that a rename survives a crash; some file systems refuse, which costs nothing. */
export function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Best effort: the file's own bytes are already on disk.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Runs `produce` with the output `path` already checked, then writes and commits what it made: a command that
 * records something (a challenge, a log key) does so only once its output is known to be writable.
 * @throws what `produce` throws, ERR_IO_NO_FOLDER, ERR_IO_EXISTS (unless `force`), ERR_IO_WRITE
 */
export async function produceOutput<T>(
  path: string,
  o: { force?: boolean; mode?: number },
  produce: () => Promise<T>,
  content: (r: T) => string | Uint8Array,
): Promise<T> {
  const out = prepareOutput(path, o);
  try {
    const r = await produce();
    writeOutput(out, content(r));
    commitOutputs([out]);
    return r;
  } catch (e) {
    discardOutputs([out]);
    throw e;
  }
}
