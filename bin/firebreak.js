#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by the `prepare` script (run by `npm ci`).
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
