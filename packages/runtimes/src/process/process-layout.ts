/**
 * Where the process target keeps things. State (records, supervisor specs holding secrets, logs)
 * lives under `stateDir` in the data directory, readable by the server only. What workloads may
 * read lives under `workDir`, outside the data directory:
 *
 * ```
 * <stateDir>/<app>/<env>/<workload>/workload.json           the running instance, host ports
 * <stateDir>/<app>/<env>/<workload>/routes.json             port name → instance port (forwarder)
 * <stateDir>/<app>/<env>/<workload>/forwarder/              spec.json, state.json, forwarder.log
 * <stateDir>/<app>/<env>/<workload>/instances/<id>/         instance.json, spec.json, state.json,
 *                                                           supervisor.log, logs/<container>.log
 * <workDir>/<app>/<env>/workloads/<workload>/<id>/<container>/app    copy of the context (cwd)
 * <workDir>/<app>/<env>/workloads/<workload>/<id>/<container>/root   absolute file/volume targets
 * <workDir>/<app>/<env>/workloads/<workload>/<id>/<container>/home   HOME
 * <workDir>/<app>/<env>/volumes/<source>/                   volume data, kept across deployments
 * ```
 */
import { join } from 'node:path';
import type { EnvironmentRef } from '@paved/core';

export class ProcessLayout {
  constructor(
    readonly stateDir: string,
    readonly workDir: string,
  ) {}

  envState(env: EnvironmentRef): string {
    return join(this.stateDir, env.app, env.env);
  }

  workloadState(env: EnvironmentRef, workload: string): string {
    return join(this.envState(env), workload);
  }

  workloadRecord(env: EnvironmentRef, workload: string): string {
    return join(this.workloadState(env, workload), 'workload.json');
  }

  routes(env: EnvironmentRef, workload: string): string {
    return join(this.workloadState(env, workload), 'routes.json');
  }

  forwarderDir(env: EnvironmentRef, workload: string): string {
    return join(this.workloadState(env, workload), 'forwarder');
  }

  instancesState(env: EnvironmentRef, workload: string): string {
    return join(this.workloadState(env, workload), 'instances');
  }

  instanceState(env: EnvironmentRef, workload: string, instance: string): string {
    return join(this.instancesState(env, workload), instance);
  }

  envWork(env: EnvironmentRef): string {
    return join(this.workDir, env.app, env.env);
  }

  workloadWork(env: EnvironmentRef, workload: string): string {
    return join(this.envWork(env), 'workloads', workload);
  }

  instanceWork(env: EnvironmentRef, workload: string, instance: string): string {
    return join(this.workloadWork(env, workload), instance);
  }

  volumes(env: EnvironmentRef): string {
    return join(this.envWork(env), 'volumes');
  }
}
