// Settings of `nsbackup backups` and `nsbackup describe`: which namespace's backups, in which store, shown how.
import { oneOf } from '../config/index.js';
import { kubeSettings, namespaceSetting } from '../kube/index.js';
import { s3Settings } from '../s3/index.js';
import { clusterNameSetting } from '../export/settings.js';

export const backupsSettings = {
  ...namespaceSetting({
    defaultText: "the kubeconfig context's namespace",
    description: 'Namespace whose backups to show.',
  }),
  output: oneOf(['table', 'json'] as const, {
    env: 'NSBACKUP_OUTPUT',
    flag: '--output',
    default: 'table',
    description: 'table (or text): for people; json: for scripts.',
  }),
  ...clusterNameSetting,
  ...s3Settings,
  ...kubeSettings,
};
