import { Command } from 'commander';

const program = new Command('serval').description('Serval: serverless MLOps — command-line tools');

await program.parseAsync(process.argv);
