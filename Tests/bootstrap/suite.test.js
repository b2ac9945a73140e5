'use strict';
// `node --test Tests/bootstrap/` finds every test file here and passes, quickly.
// Runs the suite once more in a child process; that inner run skips this file.

const assert = require('node:assert');
const { execFile } = require('node:child_process');
const fs = require('node:fs');
const { test } = require('node:test');

const INNER = 'BUNDLE_BOOTSTRAP_SUITE_INNER';
const TIME_LIMIT_MS = 30000;

test('node --test finds and passes the bootstrap suite within 30 s', { skip: process.env[INNER] === '1' }, async () => {
  const testFiles = fs.readdirSync(__dirname).filter((name) => name.endsWith('.test.js'));
  const { NODE_TEST_CONTEXT, ...env } = process.env; // eslint-disable-line no-unused-vars
  const started = Date.now();
  const { code, stdout } = await new Promise((resolve) => {
    execFile(process.execPath, ['--test', __dirname], { env: { ...env, [INNER]: '1' }, timeout: TIME_LIMIT_MS * 2 },
      (error, out) => resolve({ code: error ? error.code : 0, stdout: out }));
  });
  const elapsed = Date.now() - started;
  assert.equal(code, 0, stdout);
  assert.match(stdout, /^# fail 0$/m);
  for (const file of testFiles.filter((name) => name !== 'suite.test.js')) {
    assert.ok(stdout.includes(file) || testFileRan(stdout, file), `${file} ran`);
  }
  assert.ok(elapsed < TIME_LIMIT_MS, `the suite took ${elapsed} ms`);
});

// node 18 names each file's top-level tests, not the file: look for the suites instead.
function testFileRan(stdout, file) {
  const source = fs.readFileSync(`${__dirname}/${file}`, 'utf8');
  const names = [...source.matchAll(/^(?:describe|test)\('([^']+)'/gm)].map((match) => match[1]);
  return names.length > 0 && names.every((name) => stdout.includes(`# Subtest: ${name}`));
}
