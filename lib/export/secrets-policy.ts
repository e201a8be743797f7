// Whether an export reads the namespace's Secrets: one rule and one default for the CLI and the chart, so that
// Secret data never leaves the cluster in the clear because nobody thought about it.
//   auto     (default) Secrets go into an encrypted export; without an encryption key they are left out, and the
//            summary says so. An export folder (--dir) is never encrypted: there, auto leaves them out too.
//   include  Secrets are exported whatever the encryption: asked for explicitly, and an unencrypted export of
//            them is still named in the summary.
//   mask     (--dir only) each value written as a fingerprint, for a Git repository.
//   none     Secrets are never read (the chart's Role then has no access to them).
// A Secret left out is recorded like any excluded type: the manifest lists `secrets`, restore's report says so.

import { oneOf } from '../config/index.js';

export const SECRET_POLICIES = ['auto', 'include', 'mask', 'none'] as const;
export type SecretPolicy = (typeof SECRET_POLICIES)[number];

export const exportSecretsSetting = {
  exportSecrets: oneOf(SECRET_POLICIES, {
    env: 'NSBACKUP_EXPORT_SECRETS',
    flag: '--secrets',
    default: 'auto',
    description:
      'Secrets in the export: auto exports them only encrypted (left out without a key, and said so), include ' +
      'exports them even unencrypted, mask (export --dir only) writes each value as a fingerprint for Git, none ' +
      'never reads them.',
  }),
};

export interface SecretsDecision {
  /** The export's exclude list, with `secrets` added when they stay out. */
  exclude: string[];
  /** How Secrets are written when exported: as they are, or masked. */
  write: 'as-is' | 'masked' | 'left-out';
  /** For the summary and the log: Secrets left out by auto, or stored unencrypted by include. */
  warning?: string;
}

/**
 * What an export does with Secrets. `encrypted`: the export is encrypted (S3 with a key); `folder`: it is an
 * export folder. Throws for mask outside a folder (a masked backup could never restore its Secrets).
 */
export function decideSecrets(
  policy: SecretPolicy,
  { encrypted, folder, exclude }: { encrypted: boolean; folder: boolean; exclude: readonly string[] },
): SecretsDecision {
  const excludedAlready = exclude.includes('secrets');
  const leaveOut = (warning?: string): SecretsDecision => ({
    exclude: excludedAlready ? [...exclude] : [...exclude, 'secrets'],
    write: 'left-out',
    warning,
  });
  if (excludedAlready || policy === 'none') return leaveOut();
  switch (policy) {
    case 'mask':
      if (!folder)
        throw new Error(
          'NSBACKUP_EXPORT_SECRETS=mask is for export --dir: a backup with masked Secrets cannot restore them',
        );
      return { exclude: [...exclude], write: 'masked' };
    case 'include':
      return {
        exclude: [...exclude],
        write: 'as-is',
        warning: encrypted
          ? undefined
          : folder
            ? 'Secrets written in the clear into the export folder (NSBACKUP_EXPORT_SECRETS=include): keep it private'
            : 'Secrets stored unencrypted (NSBACKUP_EXPORT_SECRETS=include without an encryption key)',
      };
    case 'auto':
      return encrypted
        ? { exclude: [...exclude], write: 'as-is' }
        : leaveOut(
            folder
              ? 'Secrets left out of the export folder, which is not encrypted: NSBACKUP_EXPORT_SECRETS=include or mask writes them'
              : 'Secrets left out: the export is not encrypted (set NSBACKUP_ENCRYPTION_KEY, or NSBACKUP_EXPORT_SECRETS=include to store them in the clear)',
          );
  }
}
