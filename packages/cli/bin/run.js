#!/usr/bin/env node
// The lean launcher runs the hottest commands without loading oclif (see src/fast/launch.ts).
const { launch } = await import('../dist/fast/launch.js');
const code = await launch(process.argv.slice(2));
if (code !== undefined) {
  process.exitCode = code;
} else {
  const { execute } = await import('@oclif/core');
  await execute({ dir: import.meta.url });
}
