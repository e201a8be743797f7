// Metrics with no long-running process: every command pushes its run to a Prometheus Pushgateway when
// NSBACKUP_PUSHGATEWAY_URL is set, grouped by job="nsbackup", namespace and command. A POST replaces only the
// metrics it carries, so a failed run leaves the last success timestamp as it was: "backup too old" alerts keep
// counting from the last good backup. Names follow Prometheus' conventions (base units, _seconds, _bytes).

export interface RunFacts {
  command: string;
  namespace: string;
  startedAt: number;
  finishedAt: number;
  exitCode: number;
  /** The command's summary: its numeric fields become gauges (objects restored, snapshots deleted, ...). */
  summary: Record<string, unknown>;
}

/** `dumpBytes` -> `dump_bytes`. */
function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

/** The run as Prometheus text exposition (the Pushgateway's input). */
export function metricsText(run: RunFacts): string {
  const succeeded = run.exitCode === 0;
  const gauges: [string, string, number][] = [
    [
      'nsbackup_last_attempt_timestamp_seconds',
      'When the last run of this command finished.',
      run.finishedAt / 1000,
    ],
    [
      'nsbackup_last_run_duration_seconds',
      'How long the last run took.',
      (run.finishedAt - run.startedAt) / 1000,
    ],
    ['nsbackup_last_run_success', '1 when the last run succeeded (exit 0), else 0.', succeeded ? 1 : 0],
    ['nsbackup_last_run_exit_code', 'Exit code of the last run.', run.exitCode],
  ];
  if (succeeded)
    gauges.push([
      'nsbackup_last_success_timestamp_seconds',
      'When the last successful run finished.',
      run.finishedAt / 1000,
    ]);
  for (const [field, value] of Object.entries(run.summary)) {
    if (field === 'exitCode' || field === 'durationSeconds') continue;
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    gauges.push([`nsbackup_last_run_${snakeCase(field)}`, `The last run's "${field}".`, value]);
  }
  return (
    gauges
      .map(([name, help, value]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${value}`)
      .join('\n') + '\n'
  );
}

/** The Pushgateway URL of the run's group: job, namespace and command as path segments. */
export function groupUrl(base: string, run: Pick<RunFacts, 'command' | 'namespace'>): string {
  const segment = (v: string) => encodeURIComponent(v);
  return (
    `${base.replace(/\/+$/, '')}/metrics/job/nsbackup/namespace/${segment(run.namespace)}` +
    `/command/${segment(run.command)}`
  );
}

/** POSTs the run's metrics; throws with the gateway's answer when it refuses them. */
export async function pushRunMetrics(base: string, run: RunFacts, timeoutMs = 10_000): Promise<void> {
  const res = await fetch(groupUrl(base, run), {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain; version=0.0.4' },
    body: metricsText(run),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
}
