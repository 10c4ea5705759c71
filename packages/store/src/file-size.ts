/**
 * File sizes as small integers. fstat gives every size as a boxed double, even a small one. Stored in a field or
 * an object that so far held small integers (the journal's size, its end, a record's position), it turns that
 * field into a double field for every object of its shape, and the optimizing compiler throws away the code it
 * built for the old shape (V8's map log showed those shapes replaced in the middle of a handoff batch).
 */
import { fstatSync } from 'node:fs';

/** The size of the open file `fd`, a small integer when it is below 1 GiB. */
export function fileSize(fd: number): number {
  const n = fstatSync(fd).size;
  return n < 2 ** 30 ? n | 0 : n;
}
