/** oclif flags built from the plain definitions in flag-spec.ts (the one flag style). */
import { Flags } from '@oclif/core';
import type { BooleanFlag, OptionFlag } from '@oclif/core/interfaces';
import type { FlagSpec } from './flag-spec.js';

type Present<S> = S extends { required: true } ? true : S extends { default: string | number } ? true : false;
type OclifFlag<S> = S extends { type: 'boolean' }
  ? BooleanFlag<boolean>
  : S extends { type: 'list' }
    ? OptionFlag<Present<S> extends true ? string[] : string[] | undefined>
    : S extends { type: 'integer' }
      ? OptionFlag<Present<S> extends true ? number : number | undefined>
      : OptionFlag<Present<S> extends true ? string : string | undefined>;

/** The oclif flag objects for a set of definitions. */
export function oclifFlags<const T extends Record<string, FlagSpec>>(specs: T): { [K in keyof T]: OclifFlag<T[K]> } {
  const out: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(specs)) {
    const common = { description: s.description, ...(s.exactlyOne ? { exactlyOne: s.exactlyOne } : {}) };
    if (s.type === 'boolean') out[name] = Flags.boolean({ ...common, default: s.default ?? false, allowNo: s.allowNo });
    else if (s.type === 'integer') out[name] = Flags.integer({ ...common, required: s.required, default: s.default, min: s.min, max: s.max });
    else if (s.type === 'list') out[name] = Flags.string({ ...common, required: s.required, multiple: true, env: s.env });
    else out[name] = Flags.string({ ...common, required: s.required, default: s.default, env: s.env });
  }
  return out as { [K in keyof T]: OclifFlag<T[K]> };
}
