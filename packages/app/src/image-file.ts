/**
 * Firmware images as inputs: a regular file, bounded (4 GiB), hashed in chunks so that an image never has to fit
 * in memory. It opens the file as every input is opened (`openInputFile`: no FIFO, socket or device is opened;
 * the descriptor's fstat decides), with the same codes.
 */
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { CustodyError } from '@custody/core/errors';
import { inputReadError, openInputFile } from './input-file.js';

/** Largest image custody hashes. */
export const MAX_IMAGE_BYTES = 4 * 1024 ** 3;
const CHUNK = 1024 * 1024;

/** An image's length and SHA-256. */
export interface ImageDigest {
  length: number;
  sha256: string;
}

/**
 * Opens an image file, checks it, and gives its size to `judge` before hashing (a device refuses a wrong length
 * before it reads the image), then its SHA-256.
 * @throws ERR_INPUT_NOT_FILE, ERR_INPUT_TOO_LARGE, ERR_INPUT_READ naming the file; whatever `judge` throws
 */
export function hashImageFile(file: string, judge: (length: number) => void = () => {}): ImageDigest {
  const { fd, size } = openInputFile(file);
  try {
    if (size > MAX_IMAGE_BYTES)
      throw new CustodyError('ERR_INPUT_TOO_LARGE', `${file}: is ${size} bytes, more than the ${MAX_IMAGE_BYTES} bytes an image may have`, { file });
    judge(size);
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(size, 1)));
    let length = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      length += n;
      if (length > MAX_IMAGE_BYTES) throw new CustodyError('ERR_INPUT_TOO_LARGE', `${file}: grew past ${MAX_IMAGE_BYTES} bytes while read`, { file });
      hash.update(buf.subarray(0, n));
    }
    return { length, sha256: hash.digest('hex') };
  } catch (e) {
    if (e instanceof CustodyError) throw e;
    throw inputReadError(file, e);
  } finally {
    closeSync(fd);
  }
}
