/** oclif flags built from the plain definitions in flag-spec.ts. */
import { Flags } from '@oclif/core';
import type { BooleanFlag, OptionFlag } from '@oclif/core/interfaces';
import { PASSPHRASE_FLAGS, TEMPLATES_FLAG, type FlagSpec } from './flag-spec.js';

type Present<S> = S extends { required: true } ? true : S extends { default: string | number } ? true : false;
type OclifFlag<S> = S extends { type: 'boolean' }
  ? BooleanFlag<boolean>
  : S extends { type: 'integer' }
    ? OptionFlag<Present<S> extends true ? number : number | undefined>
    : OptionFlag<Present<S> extends true ? string : string | undefined>;

/** The oclif flag objects for a set of definitions (declare the set `as const` to keep the types). */
export function oclifFlags<T extends Record<string, FlagSpec>>(specs: T): { [K in keyof T]: OclifFlag<T[K]> } {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    if (s.type === 'boolean') out[name] = Flags.boolean({ description: s.description, default: s.default ?? false, allowNo: s.allowNo });
    else if (s.type === 'integer') out[name] = Flags.integer({ description: s.description, required: s.required, default: s.default, min: s.min, exactlyOne: s.exactlyOne });
    else out[name] = Flags.string({ description: s.description, required: s.required, default: s.default, env: s.env, exactlyOne: s.exactlyOne });
  }
  return out as { [K in keyof T]: OclifFlag<T[K]> };
}

export const passphraseFlags = oclifFlags(PASSPHRASE_FLAGS);
export const templatesFlag = oclifFlags(TEMPLATES_FLAG);
