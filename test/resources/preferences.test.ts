import { describe, expect, it } from 'vitest';
import {
  PreferencesError,
  defaultPreferences,
  exclusionReason,
  guessApiPathOf,
  isWorkload,
  matchesLabelSelector,
  parseLabelSelector,
  parsePreferences,
  shouldUpdateExisting,
  type KubeObject,
} from '../../lib/resources/index.js';
import { boundPv, configMap, deployment, widget } from './fixtures.js';

const excluded = (obj: KubeObject, yaml: string) =>
  exclusionReason(obj, guessApiPathOf(obj), parsePreferences(yaml));

describe('label selectors', () => {
  it('parses every operator and matches like Kubernetes', () => {
    const selector = parseLabelSelector(
      'app=web, tier==front,env!=prod,zone in (a, b),track notin (canary),release,!legacy',
    );
    expect(selector).toHaveLength(7);
    const labels = { app: 'web', tier: 'front', zone: 'b', release: 'r1' };
    expect(matchesLabelSelector(selector, labels)).toBe(true);
    expect(matchesLabelSelector(selector, { ...labels, env: 'prod' })).toBe(false);
    expect(matchesLabelSelector(selector, { ...labels, legacy: '' })).toBe(false);
    expect(matchesLabelSelector(selector, { ...labels, zone: 'c' })).toBe(false);
    expect(matchesLabelSelector(selector, { ...labels, track: 'canary' })).toBe(false);
    expect(matchesLabelSelector(parseLabelSelector(''), undefined)).toBe(true);
    expect(
      matchesLabelSelector(parseLabelSelector('app.kubernetes.io/name=web'), {
        'app.kubernetes.io/name': 'web',
      }),
    ).toBe(true);
  });

  it('rejects what it cannot parse', () => {
    expect(() => parseLabelSelector('app=web,')).toThrow(/empty requirement/);
    expect(() => parseLabelSelector('app=we b')).toThrow(/cannot parse "app=we b"/);
    expect(() => parseLabelSelector('app=-web')).toThrow(/invalid label value "-web"/);
    expect(() => parseLabelSelector('a b')).toThrow(/cannot parse/);
    // The API server's limits: a key's name part has at most 63 characters, its prefix is a lower-case DNS name.
    expect(() => parseLabelSelector(`${'k'.repeat(64)}=v`)).toThrow(/invalid label key/);
    expect(() => parseLabelSelector('Example.com/app=v')).toThrow(/invalid label key/);
    expect(() => parseLabelSelector('n>x')).toThrow(/must be an integer/);
  });

  it('accepts what the API server accepts: set-based, numeric comparisons, long prefixes', () => {
    const selector = parseLabelSelector('replicas>3,replicas<10');
    expect(matchesLabelSelector(selector, { replicas: '5' })).toBe(true);
    expect(matchesLabelSelector(selector, { replicas: '12' })).toBe(false);
    expect(matchesLabelSelector(selector, { replicas: 'five' })).toBe(false);
    expect(matchesLabelSelector(selector, {})).toBe(false);
    expect(parseLabelSelector(`${'a'.repeat(63)}.example.com/${'k'.repeat(63)}=v`)).toHaveLength(1);
    // `x in ()` is the empty value's set, as the API server reads it (test/cluster/refusals.test.ts).
    expect(matchesLabelSelector(parseLabelSelector('tier in ()'), { tier: '' })).toBe(true);
    expect(matchesLabelSelector(parseLabelSelector('tier in ()'), { tier: 'web' })).toBe(false);
  });
});

describe('parsePreferences', () => {
  it('gives defaults for an empty file', () => {
    const prefs = parsePreferences('');
    expect(prefs.existing).toBe('skip');
    expect(prefs.workloadsLast.resources.map((p) => p.kind)).toContain('StatefulSet');
    expect(exclusionReason(configMap(), '/api/v1/namespaces/shop/configmaps/settings', prefs)).toBeNull();
  });

  it('names the field that is wrong', () => {
    const error = (yaml: string) => {
      try {
        parsePreferences(yaml);
      } catch (e) {
        expect(e).toBeInstanceOf(PreferencesError);
        return (e as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(error('excludeResources: [ConfigMap, "apps/Deployment"]')).toMatch(/excludeResources\[1\]/);
    expect(error('existing: replace')).toMatch(/existing: "replace" is not one of skip, update/);
    expect(error('excludeNamespace: [a]')).toMatch(/excludeNamespace: unknown setting/);
    expect(error('includeApiPaths: [apps/v1]')).toMatch(/includeApiPaths\[0\].*API path prefix/);
    expect(error('labelSelector: "a in b"')).toMatch(/labelSelector/);
    expect(error('updatePaths: [/apis/apps/]')).toMatch(
      /updatePaths: only meaningful with `existing: update`/,
    );
    expect(error('excludeNamespaces: shop')).toMatch(/excludeNamespaces: expected a list/);
    expect(error('a: [')).toMatch(/\(file\)/);
  });
});

describe('exclusionReason', () => {
  it('filters by namespace, resource, path and labels, and says why', () => {
    expect(excluded(deployment(), 'excludeNamespaces: [shop]')).toBe(
      'namespace shop is in excludeNamespaces',
    );
    expect(excluded(deployment(), 'includeNamespaces: [other]')).toBe(
      'namespace shop is not in includeNamespaces',
    );
    expect(excluded(deployment(), 'excludeResources: [Deployment.apps]')).toMatch(
      /excludeResources Deployment.apps/,
    );
    expect(excluded(deployment(), 'excludeResources: ["*.apps"]')).not.toBeNull();
    expect(excluded(deployment(), 'excludeResources: [deployment]')).not.toBeNull();
    expect(excluded(deployment(), 'excludeResources: [Deployment.extensions]')).toBeNull();
    expect(excluded(configMap(), 'includeResources: [Deployment.apps]')).toMatch(/not in includeResources/);
    expect(excluded(widget(), 'includeResources: [{ group: example.com }]')).toBeNull();
    expect(excluded(configMap(), 'excludeApiPaths: [/api/v1/namespaces/shop/configmaps/]')).toMatch(
      /excludeApiPaths/,
    );
    expect(excluded(configMap(), 'includeApiPaths: [/apis/]')).toMatch(/includeApiPaths/);
    expect(excluded(deployment(), 'labelSelector: app=db')).toBe('labels do not match app=db');
    expect(excluded(deployment(), 'labelSelector: app=web')).toBeNull();
  });

  it('does not apply namespace filters to cluster-scoped objects, but does to Namespace objects', () => {
    const sc: KubeObject = {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: 'fast' },
    };
    expect(excluded(sc, 'includeNamespaces: [shop]')).toBeNull();
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'other' } };
    expect(excluded(ns, 'includeNamespaces: [shop]')).toMatch(/namespace other/);
  });

  it('restores a PersistentVolume only for a rebound storage class', () => {
    expect(excluded(boundPv(), '')).toMatch(/"local-path" is not in rebindStorageClasses/);
    expect(excluded(boundPv(), 'rebindStorageClasses: [local-path]')).toBeNull();
  });
});

describe('existing objects and workloads', () => {
  it('updates only when asked, and only under updatePaths', () => {
    expect(shouldUpdateExisting('/api/v1/namespaces/shop/configmaps/x', defaultPreferences())).toBe(false);
    const prefs = parsePreferences('existing: update\nupdatePaths: [/api/v1/namespaces/shop/configmaps/]');
    expect(shouldUpdateExisting('/api/v1/namespaces/shop/configmaps/x', prefs)).toBe(true);
    expect(shouldUpdateExisting('/api/v1/namespaces/shop/secrets/x', prefs)).toBe(false);
    expect(
      shouldUpdateExisting('/api/v1/namespaces/shop/secrets/x', parsePreferences('existing: update')),
    ).toBe(true);
  });

  it('accepts resource patterns and path prefixes in workloadsLast', () => {
    const prefs = parsePreferences('workloadsLast: [Deployment.apps, /apis/example.com/]');
    expect(isWorkload(widget(), guessApiPathOf(widget()), prefs.workloadsLast)).toBe(true);
    expect(isWorkload(configMap(), guessApiPathOf(configMap()), prefs.workloadsLast)).toBe(false);
  });
});
