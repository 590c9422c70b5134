/** The whole `serval` command tree, built without running it (the coverage test walks it). */
import { Command } from 'commander';
import { adminKeyCommand } from './admin-key.js';
import { demoModelCommand } from './demo-model.js';
import { driftCommand } from './drift.js';
import { experimentsCommand } from './experiments.js';
import { jwtCommand } from './jwt.js';
import { platformCommands, withDriftApiCommands } from './platform.js';
import { jobsCommand, retrainCommand } from './retraining.js';

export function buildProgram(): Command {
  const program = new Command('serval').description('Serval: serverless MLOps — command-line tools');
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
