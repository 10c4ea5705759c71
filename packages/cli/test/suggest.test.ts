import assert from 'node:assert/strict';
import { closest, didYouMean } from '../src/suggest.js';
import { commandName, failureEnvelope, successEnvelope } from '../src/envelope.js';

describe('did you mean', function () {
  const commands = ['devices provision', 'devices verify', 'devices export', 'ca list', 'parties list'];

  it('names the nearest command or flag for a typo', function () {
    assert.equal(closest('devices provison', commands), 'devices provision');
    assert.equal(closest('--bundel', ['--bundle', '--trust', '--ca']), '--bundle');
    assert.equal(closest('devices ver', commands), 'devices verify');
  });

  it('suggests nothing for a word that is not near any candidate', function () {
    assert.equal(closest('frobnicate', commands), undefined);
    assert.equal(closest('--x', ['--bundle', '--trust']), undefined);
    assert.equal(didYouMean(undefined), '');
  });
});

describe('the --json envelope', function () {
  it('has the same keys on success and failure, and the exit code in error', function () {
    assert.deepEqual(successEnvelope('init', { store: 's' }), { ok: true, command: 'init', data: { store: 's' } });
    const f = failureEnvelope(commandName('devices:verify'), { code: 'ERR_VERIFY_LINK', exit: 1, message: 'm' }, { accepted: false });
    assert.deepEqual(Object.keys(f), ['ok', 'command', 'error', 'data']);
    assert.deepEqual(f.ok === false && f.error, { code: 'ERR_VERIFY_LINK', message: 'm', exit: 1 });
    assert.equal(f.command, 'devices verify');
    assert.deepEqual(Object.keys(failureEnvelope('init', { code: 'ERR_X', exit: 3, message: 'm' })), ['ok', 'command', 'error']);
  });
});
