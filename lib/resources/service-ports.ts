import { isJsonMap, type JsonMap, type KubeObject } from './types.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Removes the node ports the API server allocated by itself from a Service, keeping those a user chose.
 *
 * A nodePort counts as chosen when the `kubectl.kubernetes.io/last-applied-configuration` annotation
 * sets it (client-side `kubectl apply`; named ports matched by name, unnamed by value), or when a
 * `managedFields` entry owns `f:nodePort` of that port (`kubectl create`, server-side apply, any client:
 * the API server allocates ports after field ownership is recorded, so it never owns an allocated one).
 * Velero decides the same way. `healthCheckNodePort` follows the same rule.
 *
 * This must run on the object as the API server returned it: canonical form drops `managedFields`,
 * so {@link canonicalize} calls it before dropping them. An object without `managedFields` (already
 * canonical, written by hand, or from a server that does not track fields) keeps all its node ports:
 * there is no evidence to decide by, and canonicalizing twice must not lose a chosen port.
 * Returns a new object; the input is unchanged.
 */
export function withoutAllocatedNodePorts(service: KubeObject): KubeObject {
  if (service.kind !== 'Service' || !isJsonMap(service.spec)) return service;
  const managedFields = service.metadata.managedFields;
  if (!Array.isArray(managedFields) || managedFields.length === 0) return service;
  const spec = service.spec;
  if (spec.type === 'ExternalName') return service;
  const chosen = chosenNodePorts(service);
  const ports = Array.isArray(spec.ports) ? spec.ports : [];
  const newPorts = ports.map((port) => {
    if (!isJsonMap(port) || port.nodePort === undefined) return port;
    if (isChosen(port, chosen)) return port;
    const { nodePort: _dropped, ...rest } = port;
    return rest;
  });
  const newSpec: JsonMap = { ...spec, ports: newPorts };
  if (spec.ports === undefined) delete newSpec.ports;
  if (newSpec.healthCheckNodePort !== undefined && !chosen.healthCheckNodePort)
    delete newSpec.healthCheckNodePort;
  return { ...service, spec: newSpec };
}

interface ChosenNodePorts {
  byName: Set<string>;
  unnamedValues: Set<number>;
  /** `port/protocol` keys from managedFields. */
  byPortProtocol: Set<string>;
  healthCheckNodePort: boolean;
}

function chosenNodePorts(service: KubeObject): ChosenNodePorts {
  const chosen: ChosenNodePorts = {
    byName: new Set(),
    unnamedValues: new Set(),
    byPortProtocol: new Set(),
    healthCheckNodePort: false,
  };
  const lastApplied = service.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
  if (lastApplied) {
    let applied: unknown;
    try {
      applied = JSON.parse(lastApplied);
    } catch {
      applied = undefined; // A broken annotation proves nothing; fall back to managedFields.
    }
    const appliedSpec = isJsonMap(applied) && isJsonMap(applied.spec) ? applied.spec : {};
    if (Number(appliedSpec.healthCheckNodePort) > 0) chosen.healthCheckNodePort = true;
    for (const port of Array.isArray(appliedSpec.ports) ? appliedSpec.ports : []) {
      if (!isJsonMap(port) || !(Number(port.nodePort) > 0)) continue;
      if (typeof port.name === 'string' && port.name) chosen.byName.add(port.name);
      else chosen.unnamedValues.add(Number(port.nodePort));
    }
  }
  const managedFields = Array.isArray(service.metadata.managedFields) ? service.metadata.managedFields : [];
  for (const entry of managedFields) {
    const fields = isJsonMap(entry) && isJsonMap(entry.fieldsV1) ? entry.fieldsV1 : undefined;
    const specFields = fields && isJsonMap(fields['f:spec']) ? fields['f:spec'] : undefined;
    if (!specFields) continue;
    if (specFields['f:healthCheckNodePort'] !== undefined) chosen.healthCheckNodePort = true;
    const portFields = isJsonMap(specFields['f:ports']) ? specFields['f:ports'] : {};
    for (const [key, value] of Object.entries(portFields)) {
      if (!key.startsWith('k:') || !isJsonMap(value) || value['f:nodePort'] === undefined) continue;
      try {
        const id = JSON.parse(key.slice(2)) as { port?: number; protocol?: string };
        chosen.byPortProtocol.add(`${id.port}/${id.protocol ?? 'TCP'}`);
      } catch {
        // Not a key we understand: the port stays unchosen.
      }
    }
  }
  return chosen;
}

function isChosen(port: JsonMap, chosen: ChosenNodePorts): boolean {
  if (chosen.byPortProtocol.has(`${port.port}/${port.protocol ?? 'TCP'}`)) return true;
  if (typeof port.name === 'string' && port.name) return chosen.byName.has(port.name);
  return chosen.unnamedValues.has(Number(port.nodePort));
}

const PORT_TAKEN = /provided port is already allocated/;
const PORT_TAKEN_FIELD =
  /spec\.(ports\[(\d+)\]\.nodePort|healthCheckNodePort): Invalid value: (\d+): provided port is already allocated/g;

/**
 * A Service refused because node ports it asks for are taken (the original still runs, in this or another
 * namespace): the same Service without those ports, so the API server allocates new ones, and which ports they
 * were. Undefined when the error is not about allocated node ports.
 */
export function withoutTakenNodePorts(
  service: KubeObject,
  message: string,
): { service: KubeObject; taken: number[] } | undefined {
  if (service.kind !== 'Service' || !isJsonMap(service.spec) || !PORT_TAKEN.test(message)) return undefined;
  const spec: JsonMap = { ...service.spec };
  const taken: number[] = [];
  const named = [...message.matchAll(PORT_TAKEN_FIELD)];
  const ports = Array.isArray(spec.ports) ? spec.ports.map((p) => (isJsonMap(p) ? { ...p } : p)) : [];
  const drop = (port: unknown) => {
    if (isJsonMap(port) && port.nodePort !== undefined) {
      taken.push(Number(port.nodePort));
      delete port.nodePort;
    }
  };
  if (named.length === 0) ports.forEach(drop); // No field named: let the server choose them all.
  for (const m of named) {
    if (m[2] !== undefined) drop(ports[Number(m[2])]);
    else if (spec.healthCheckNodePort !== undefined) {
      taken.push(Number(spec.healthCheckNodePort));
      delete spec.healthCheckNodePort;
    }
  }
  if (taken.length === 0) return undefined;
  if (Array.isArray(spec.ports)) spec.ports = ports;
  return { service: { ...service, spec }, taken };
}
