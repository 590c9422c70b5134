/**
 * Model versions are MAJOR.MINOR.PATCH. Pre-release and build suffixes are not accepted: a
 * registry version names an immutable artifact, and total ordering keeps "latest" and
 * auto-increment unambiguous.
 */
import { validationFailed } from '../kernel/errors.js';

export const SEMVER_PATTERN = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

export interface SemVer {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export function parseSemver(text: string): SemVer {
  const m = SEMVER_PATTERN.exec(text);
  if (!m) {
    throw validationFailed(
      `"${text.slice(0, 64)}" is not a version of the form MAJOR.MINOR.PATCH (e.g. 1.4.0)`,
      {
        field: 'version',
      },
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function formatSemver(v: SemVer): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}

export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  return x.major - y.major || x.minor - y.minor || x.patch - y.patch;
}

/** A fixed-width key that sorts like the version (components are at most 6 digits). */
export function semverSortKey(text: string): string {
  const v = parseSemver(text);
  const pad = (n: number) => String(n).padStart(6, '0');
  return `${pad(v.major)}.${pad(v.minor)}.${pad(v.patch)}`;
}

/** The version after `latest` when none is given: the next minor, or 1.0.0 for a new model. */
export function nextVersion(latest: string | undefined): string {
  if (!latest) return '1.0.0';
  const v = parseSemver(latest);
  return formatSemver({ major: v.major, minor: v.minor + 1, patch: 0 });
}
