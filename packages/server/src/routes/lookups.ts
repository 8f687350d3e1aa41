import { PavedError } from '@paved/core';
import type { App, EnvType, Environment, Store } from '@paved/store';

/** The app, or NOT_FOUND naming it. */
export async function requireApp(store: Store, name: string): Promise<App> {
  const app = await store.apps.get(name);
  if (app === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `app "${name}" does not exist; create it first (paved apps create ${name})`,
      {
        details: { app: name },
      },
    );
  }
  return app;
}

/** The environment (and its app), or NOT_FOUND naming whichever is missing. */
export async function requireEnvironment(store: Store, app: string, name: string): Promise<Environment> {
  await requireApp(store, app);
  const environment = await store.environments.get(app, name);
  if (environment === undefined) {
    throw new PavedError(
      'NOT_FOUND',
      `environment "${name}" of app "${app}" does not exist; paved envs list ${app} shows the environments`,
      { details: { app, env: name } },
    );
  }
  return environment;
}

/** The environment type, or NOT_FOUND naming the types there are. */
export async function requireEnvType(store: Store, name: string): Promise<EnvType> {
  const envType = await store.envTypes.get(name);
  if (envType === undefined) {
    const names = (await store.envTypes.list()).map((type) => type.name);
    throw new PavedError(
      'NOT_FOUND',
      `environment type "${name}" does not exist; the environment types are ${names.join(', ') || '(none)'}`,
      { details: { envType: name, envTypes: names } },
    );
  }
  return envType;
}
