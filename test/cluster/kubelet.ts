// What the kubelet reports about pods the emulator pretends to run.
import { randomUUID } from 'node:crypto';
import { now } from './registry.js';

export const EMULATOR_NODE = 'emulator-node-1';

/** A pod as the kubelet reports it once its containers run (or, with a failure, crash). */
export function runningPod(pod: any, failure?: string): any {
  const started = now();
  const containers: any[] = pod.spec?.containers ?? [];
  const ready = !failure;
  return {
    ...structuredClone(pod),
    spec: { ...structuredClone(pod.spec), nodeName: pod.spec?.nodeName ?? EMULATOR_NODE },
    status: {
      phase: 'Running',
      conditions: [
        'PodReadyToStartContainers',
        'Initialized',
        'Ready',
        'ContainersReady',
        'PodScheduled',
      ].map((type) => ({
        type,
        status:
          ready || type === 'Initialized' || type === 'PodScheduled' || type === 'PodReadyToStartContainers'
            ? 'True'
            : 'False',
        lastProbeTime: null,
        lastTransitionTime: started,
      })),
      hostIP: '10.0.0.1',
      podIP: `10.244.0.${Math.floor(Math.random() * 250) + 2}`,
      startTime: started,
      qosClass: pod.status?.qosClass ?? 'BestEffort',
      containerStatuses: containers.map((c) => ({
        name: c.name,
        image: c.image,
        imageID: '',
        containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
        ready,
        started: true,
        restartCount: 0,
        state: ready
          ? { running: { startedAt: started } }
          : { waiting: { reason: 'CrashLoopBackOff', message: failure } },
      })),
    },
  };
}
