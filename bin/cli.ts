import { Command } from 'commander';
import { driftCommand } from './commands/drift.js';
import { jwtCommand } from './commands/jwt.js';

const program = new Command('serval').description('Serval: serverless MLOps — command-line tools');

program.addCommand(driftCommand());
program.addCommand(jwtCommand());

await program.parseAsync(process.argv);
