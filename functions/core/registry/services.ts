/**
 * The registry's services over one set of dependencies. Each service owns one concern; they
 * share the reads and the write discipline of RegistryRecords.
 */
import { Aliases } from './aliases.js';
import { Artifacts } from './artifacts.js';
import { Comparison } from './compare.js';
import { Deletions } from './deletion.js';
import { Lifecycle } from './lifecycle.js';
import { Models } from './models.js';
import { type RegistryDeps, RegistryRecords } from './records.js';
import { ValidationGate } from './validation-gate.js';

export interface RegistryServices {
  readonly models: Models;
  readonly aliases: Aliases;
  readonly artifacts: Artifacts;
  readonly lifecycle: Lifecycle;
  readonly validation: ValidationGate;
  readonly comparison: Comparison;
  readonly deletions: Deletions;
}

export function registryServices(deps: RegistryDeps): RegistryServices {
  const records = new RegistryRecords(deps);
  const lifecycle = new Lifecycle(records);
  return {
    models: new Models(records),
    aliases: new Aliases(records),
    artifacts: new Artifacts(records, lifecycle),
    lifecycle,
    validation: new ValidationGate(records, lifecycle),
    comparison: new Comparison(records),
    deletions: new Deletions(records),
  };
}
