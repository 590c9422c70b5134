#!/usr/bin/env node
// The `serval` command. Serval is written in TypeScript and run through tsx, so `npx serval`
// works straight after `npm install` without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
