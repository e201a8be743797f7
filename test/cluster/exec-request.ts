// Validation of a pods/exec request before the WebSocket upgrade, with the messages a real API server
// (and the kubelet behind it) answers: which container, whether it can run anything at all.
import type { ExecRequest } from './exec.js';
import { Errors } from './status.js';

function flag(q: URLSearchParams, key: string): boolean {
  const v = q.get(key);
  return v === 'true' || v === '1';
}

export function validateExec(namespace: string, pod: any, q: URLSearchParams): ExecRequest {
  const name = pod.metadata.name;
  const command = q.getAll('command');
  const [stdin, stdout, stderr] = [flag(q, 'stdin'), flag(q, 'stdout'), flag(q, 'stderr')];
  if (!stdin && !stdout && !stderr)
    throw Errors.badRequest('you must specify at least 1 of stdin, stdout, stderr');
  if (command.length === 0) throw Errors.badRequest('you must specify at least 1 command');
  const containers: string[] = (pod.spec?.containers ?? []).map((c: any) => c.name);
  const others: string[] = [
    ...(pod.spec?.initContainers ?? []),
    ...(pod.spec?.ephemeralContainers ?? []),
  ].map((c: any) => c.name);
  let container = q.get('container') ?? '';
  if (!container) {
    if (containers.length !== 1) {
      const init = others.length ? ` or one of the init containers: [${others.join(' ')}]` : '';
      throw Errors.badRequest(
        `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]${init}`,
      );
    }
    container = containers[0];
  }
  if (!containers.includes(container) && !others.includes(container)) {
    throw Errors.badRequest(`container ${container} is not valid for pod ${name}`);
  }
  if (!pod.spec?.nodeName) throw Errors.badRequest(`pod ${name} does not have a host assigned`);
  const statuses: any[] | undefined = pod.status?.containerStatuses;
  const running = statuses?.find((s) => s.name === container)?.state?.running;
  if (pod.status?.phase !== 'Running' || (statuses && !running)) {
    // The kubelet answers this when the container is not running; the API server relays it.
    throw Errors.badRequest(`unable to upgrade connection: container not found ("${container}")`);
  }
  return { namespace, pod, container, command, stdin, stdout, stderr, tty: flag(q, 'tty') };
}
