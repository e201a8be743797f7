// The chart's PrometheusRule, checked and unit-tested with promtool (Debian's prometheus package): each alert fires
// when its condition holds and stays quiet before.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { helmTemplate } from '../kit/index.js';
import { valuesFile } from './rendered.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbackup-promrule-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rendered = helmTemplate({
  valuesFiles: [valuesFile('postgres')],
  set: { 'metrics.prometheusRule.enabled': 'true' },
});
const rule = rendered.find((o) => o.kind === 'PrometheusRule')! as any;
const rules: any[] = rule.spec.groups[0].rules;
const annotations = (alert: string) => rules.find((r) => r.alert === alert).annotations;

function promtool(args: string[]) {
  const r = spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const backup = 'job="nsbackup",namespace="shop",command="backup"';
const verify = 'job="nsbackup",namespace="shop",command="verify"';
/** An expected alert: its labels, and its annotations with the labels filled in as Prometheus does. */
const alert = (name: string, labels: Record<string, string>) => ({
  exp_labels: labels,
  exp_annotations: Object.fromEntries(
    Object.entries(annotations(name) as Record<string, string>).map(([k, v]) => [
      k,
      v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l]),
    ]),
  ),
});

describe('the PrometheusRule', () => {
  it('is only rendered when asked for', () => {
    expect(
      helmTemplate({ valuesFiles: [valuesFile('postgres')] }).some((o) => o.kind === 'PrometheusRule'),
    ).toBe(false);
  });

  it('passes promtool check rules', () => {
    writeFileSync(join(dir, 'rules.yaml'), YAML.stringify(rule.spec));
    const check = promtool(['check', 'rules', 'rules.yaml']);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toContain('SUCCESS: 5 rules found');
  });

  it('fires each alert when its condition holds, and not before (promtool test rules)', () => {
    writeFileSync(join(dir, 'rules.yaml'), YAML.stringify(rule.spec));
    const tests = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          // One good backup at time 0, then only failed runs every hour from the 25th: too old after 26 h.
          interval: '1h',
          input_series: [
            { series: `nsbackup_last_success_timestamp_seconds{${backup}}`, values: '0x40' },
            { series: `nsbackup_last_attempt_timestamp_seconds{${backup}}`, values: '0+3600x40' },
            { series: `nsbackup_last_run_success{${backup}}`, values: '1x24 0x16' },
            // A weekly verify: good, then failed from the 30th hour.
            { series: `nsbackup_last_run_success{${verify}}`, values: '1x29 0x11' },
            {
              series: 'kube_cronjob_status_last_successful_time{namespace="shop",cronjob="shop-backup"}',
              values: '0x40',
            },
          ],
          alert_rule_test: [
            { eval_time: '25h', alertname: 'NsbackupBackupTooOld', exp_alerts: [] },
            {
              eval_time: '27h',
              alertname: 'NsbackupBackupTooOld',
              exp_alerts: [alert('NsbackupBackupTooOld', { severity: 'critical' })],
            },
            { eval_time: '10h', alertname: 'NsbackupLastRunFailed', exp_alerts: [] },
            {
              eval_time: '26h',
              alertname: 'NsbackupLastRunFailed',
              exp_alerts: [alert('NsbackupLastRunFailed', { severity: 'warning', command: 'backup' })],
            },
            { eval_time: '20h', alertname: 'NsbackupCronJobNoSuccess', exp_alerts: [] },
            {
              eval_time: '27h',
              alertname: 'NsbackupCronJobNoSuccess',
              exp_alerts: [alert('NsbackupCronJobNoSuccess', { severity: 'critical' })],
            },
            { eval_time: '27h', alertname: 'NsbackupMetricsAbsent', exp_alerts: [] },
            { eval_time: '29h', alertname: 'NsbackupVerifyFailed', exp_alerts: [] },
            {
              eval_time: '31h',
              alertname: 'NsbackupVerifyFailed',
              exp_alerts: [alert('NsbackupVerifyFailed', { severity: 'critical' })],
            },
          ],
        },
        {
          // Nothing ever pushed (the CronJob never ran, or cannot reach the gateway): absent, after a day's wait.
          interval: '1h',
          input_series: [{ series: 'up{job="pushgateway"}', values: '1x40' }],
          alert_rule_test: [
            { eval_time: '1h', alertname: 'NsbackupMetricsAbsent', exp_alerts: [] },
            {
              eval_time: '27h',
              alertname: 'NsbackupMetricsAbsent',
              exp_alerts: [
                alert('NsbackupMetricsAbsent', {
                  severity: 'warning',
                  job: 'nsbackup',
                  namespace: 'shop',
                  command: 'backup',
                }),
              ],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'tests.yaml'), YAML.stringify(tests));
    const test = promtool(['test', 'rules', 'tests.yaml']);
    expect(test.status, test.output).toBe(0);
  });

  it('the unit test can fail: a rule that never fires is caught', () => {
    const broken = structuredClone(rule.spec);
    broken.groups[0].rules[0].expr = 'vector(0) > 1';
    writeFileSync(join(dir, 'broken.yaml'), YAML.stringify(broken));
    const tests = {
      rule_files: ['broken.yaml'],
      tests: [
        {
          interval: '1h',
          input_series: [{ series: `nsbackup_last_success_timestamp_seconds{${backup}}`, values: '0x40' }],
          alert_rule_test: [
            {
              eval_time: '27h',
              alertname: 'NsbackupBackupTooOld',
              exp_alerts: [alert('NsbackupBackupTooOld', { severity: 'critical' })],
            },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'broken-tests.yaml'), YAML.stringify(tests));
    expect(promtool(['test', 'rules', 'broken-tests.yaml']).status).not.toBe(0);
  });
});
