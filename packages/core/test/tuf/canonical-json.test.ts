import assert from 'node:assert/strict';
import { tufCanonicalJSON } from '../../src/tuf/canonical-json.js';

describe('tuf: canonical JSON', () => {
  it('sorts members at every level, writes no whitespace, escapes only the quote and the backslash', () => {
    const text = tufCanonicalJSON({ b: [2, { z: null, a: true }], a: 'x"y\\z\n\u00e9' });
    assert.equal(text, '{"a":"x\\"y\\\\z\n\u00e9","b":[2,{"a":true,"z":null}]}');
  });

  it('leaves out undefined members, as JSON does', () => {
    assert.equal(tufCanonicalJSON({ a: undefined, b: 1 }), '{"b":1}');
  });

  it('refuses numbers that are not safe integers, and values JSON cannot carry', () => {
    for (const bad of [1.5, Number.NaN, 2 ** 60, () => 1, 10n]) assert.throws(() => tufCanonicalJSON({ n: bad }), { code: 'ERR_TUF_CANONICAL' }, String(bad));
  });
});
