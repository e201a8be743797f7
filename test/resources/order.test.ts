import { describe, expect, it } from 'vitest';
import {
  guessApiPathOf,
  parsePreferences,
  restoreSteps,
  type KubeObject,
} from '../../lib/resources/index.js';
import { boundPv, crd, shopNamespace } from './fixtures.js';

const pathed = (objects: KubeObject[]) => objects.map((object) => ({ path: guessApiPathOf(object), object }));
const names = (steps: ReturnType<typeof restoreSteps>) =>
  steps.map((step) => `${step.name}: ${step.items.map((i) => i.object.metadata.name).join(' ')}`);

describe('restoreSteps', () => {
  it('orders a namespace: CRDs first, RBAC and config before Services, workloads last', () => {
    const objects = [
      ...shopNamespace().filter((o) => !['Event', 'ReplicaSet', 'Endpoints'].includes(o.kind)),
      boundPv(),
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: { name: 'widgets' },
      },
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'shop' } },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web', namespace: 'shop' },
      },
    ].reverse();
    const steps = restoreSteps(pathed(objects));
    expect(names(steps)).toEqual([
      'CustomResourceDefinition.apiextensions.k8s.io: widgets.example.com',
      'Namespace: shop',
      'PersistentVolume: pvc-3f1e',
      'PersistentVolumeClaim: data-db-0',
      'ServiceAccount: default web',
      'RoleBinding.rbac.authorization.k8s.io: web-reader',
      'Secret: db-password web-token',
      'ConfigMap: kube-root-ca.crt settings',
      'Service: db web',
      'other: web blue web',
      'workloads: web report',
      'admission: widgets',
    ]);
    // "other" is sorted by group then kind: autoscaling HPA, example.com Widget, networking.k8s.io Ingress.
    expect(steps.find((s) => s.name === 'other')!.items.map((i) => i.object.kind)).toEqual([
      'HorizontalPodAutoscaler',
      'Widget',
      'Ingress',
    ]);
    // Workloads: apps Deployment before batch CronJob.
    expect(steps.at(-2)!.items.map((i) => i.object.kind)).toEqual(['Deployment', 'CronJob']);
  });

  it('is deterministic whatever the input order', () => {
    const objects = pathed(shopNamespace());
    const shuffled = [...objects].sort(() => Math.random() - 0.5);
    expect(names(restoreSteps(shuffled))).toEqual(names(restoreSteps(objects)));
  });

  it('puts what workloadsLast lists last, even a type with a step of its own', () => {
    const prefs = parsePreferences('workloadsLast: [/apis/example.com/, ConfigMap]');
    const steps = restoreSteps(pathed(shopNamespace()), { workloadsLast: prefs.workloadsLast });
    expect(steps.at(-1)!.name).toBe('workloads');
    expect(
      steps
        .at(-1)!
        .items.map((i) => i.object.kind)
        .sort(),
    ).toEqual(['ConfigMap', 'ConfigMap', 'Widget']);
    expect(steps.some((s) => s.name === 'ConfigMap')).toBe(false);
  });

  it('leaves out empty steps', () => {
    expect(restoreSteps(pathed([crd()])).map((s) => s.name)).toEqual([
      'CustomResourceDefinition.apiextensions.k8s.io',
    ]);
    expect(restoreSteps([])).toEqual([]);
  });
});
