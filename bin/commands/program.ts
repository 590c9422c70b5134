/** The whole `serval` command tree, built without running it (the coverage test walks it). */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { adminKeyCommand } from './admin-key.js';
import { demoModelCommand } from './demo-model.js';
import { driftCommand } from './drift.js';
import { experimentsCommand } from './experiments.js';
import { jwtCommand } from './jwt.js';
import { platformCommands, withDriftApiCommands } from './platform.js';
import { jobsCommand, retrainCommand } from './retraining.js';

/** The package's version, which `serval --version` prints. */
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export function buildProgram(): Command {
  const program = new Command('serval')
    .description('Serval: serverless MLOps — command-line tools')
    .version(VERSION, '-V, --version', 'print the version of this Serval checkout')
    // Before a command only: `register --version 1.0.0` is the version to register.
    .enablePositionalOptions();
  for (const cmd of platformCommands()) program.addCommand(cmd);
  program.addCommand(withDriftApiCommands(driftCommand()));
  program.addCommand(experimentsCommand());
  program.addCommand(retrainCommand());
  program.addCommand(jobsCommand());
  program.addCommand(jwtCommand());
  program.addCommand(adminKeyCommand());
  program.addCommand(demoModelCommand());
  return program;
}
