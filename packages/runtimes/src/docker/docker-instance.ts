/**
 * An *instance* is one start of a workload: its containers (and, with more than one container, the
 * sandbox holding their network namespace), all labelled with the same instance id. A replacement
 * is a new instance beside the old one. This module rebuilds instances from the engine's container
 * list, which is all the target needs to find what it owns after a restart.
 */
import type Docker from 'dockerode';
import type { EnvironmentRef } from '@paved/core';
import { LABEL, parseLayout, type InstanceLayout } from './docker-labels.js';

export interface Instance {
  env: EnvironmentRef;
  workload: string;
  id: string;
  deployment: number;
  specHash: string;
  layout: InstanceLayout;
  /** Score container name → engine container id. */
  containers: Map<string, string>;
  /** The sandbox's container id, when the layout has one. */
  sandbox?: string;
  /** Score container name → image reference and digest, from the labels. */
  images: Map<string, { reference: string; digest: string }>;
  /** Seconds since the epoch when its first container was created (engine list `Created`). */
  created: number;
}

/** Every instance in a container list, keyed `<app>/<env>/<workload>`, oldest first. */
export function groupInstances(list: Docker.ContainerInfo[]): Map<string, Instance[]> {
  const byInstance = new Map<string, Instance>();
  for (const info of list) {
    const labels = info.Labels;
    const app = labels[LABEL.app];
    const env = labels[LABEL.env];
    const workload = labels[LABEL.workload];
    const id = labels[LABEL.instance];
    const layout = parseLayout(labels);
    if (
      app === undefined ||
      env === undefined ||
      workload === undefined ||
      id === undefined ||
      layout === undefined
    )
      continue;
    const key = `${app}/${env}/${workload}/${id}`;
    let instance = byInstance.get(key);
    if (instance === undefined) {
      instance = {
        env: { app, env },
        workload,
        id,
        deployment: Number(labels[LABEL.deployment] ?? 0),
        specHash: labels[LABEL.specHash] ?? '',
        layout,
        containers: new Map(),
        images: new Map(),
        created: info.Created,
      };
      byInstance.set(key, instance);
    }
    instance.created = Math.min(instance.created, info.Created);
    if (labels[LABEL.role] === 'sandbox') {
      instance.sandbox = info.Id;
    } else {
      const container = labels[LABEL.container];
      if (container === undefined) continue;
      instance.containers.set(container, info.Id);
      const reference = labels[LABEL.image];
      const digest = labels[LABEL.digest];
      if (reference !== undefined && digest !== undefined)
        instance.images.set(container, { reference, digest });
    }
  }
  const byWorkload = new Map<string, Instance[]>();
  for (const instance of byInstance.values()) {
    const key = workloadKey(instance.env, instance.workload);
    byWorkload.set(key, [...(byWorkload.get(key) ?? []), instance]);
  }
  for (const instances of byWorkload.values()) instances.sort(compareInstances);
  return byWorkload;
}

export function workloadKey(env: EnvironmentRef, workload: string): string {
  return `${env.app}/${env.env}/${workload}`;
}

/** Whether every container the layout names (and its sandbox) exists. */
export function isComplete(instance: Instance): boolean {
  return (
    instance.layout.containers.every((name) => instance.containers.has(name)) &&
    (!instance.layout.sandbox || instance.sandbox !== undefined)
  );
}

/**
 * Which of several instances of a workload is the one to keep after a restart. Two instances exist
 * only while an apply runs (the new one beside the old); a server stopped during it leaves both,
 * and the deployment is recorded as failed. So the oldest complete instance is kept — what ran
 * before that deployment — unless removing it had already begun, in which case the newer one is.
 */
export function chooseCurrent(instances: Instance[]): Instance | undefined {
  return instances.find(isComplete) ?? instances.at(-1);
}

/** All engine container ids of an instance, workload containers before the sandbox. */
export function instanceContainerIds(instance: Instance): string[] {
  return [...instance.containers.values(), ...(instance.sandbox === undefined ? [] : [instance.sandbox])];
}

function compareInstances(a: Instance, b: Instance): number {
  return (
    a.created - b.created || a.deployment - b.deployment || a.id.localeCompare(b.id, 'en', { numeric: true })
  );
}
