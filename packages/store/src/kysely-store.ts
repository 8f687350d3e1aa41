import { PavedError } from '@paved/core';
import { KyselyAppRepository } from './apps-repository.js';
import { KyselyAuditRepository } from './audit-repository.js';
import { KyselyDeploymentRepository } from './deployments-repository.js';
import { KyselyDeploymentSetRepository } from './deployment-sets-repository.js';
import { KyselyEnvTypeRepository } from './env-types-repository.js';
import { KyselyEnvironmentRepository } from './environments-repository.js';
import { KyselyResourceDefinitionRepository } from './definitions-repository.js';
import { KyselyRoleGrantRepository } from './grants-repository.js';
import { KyselyLoginFailureRepository } from './login-failures-repository.js';
import { KyselyPortAllocationRepository } from './ports-repository.js';
import { KyselyPrincipalRepository } from './principals-repository.js';
import type { RepositoryContext } from './repository-context.js';
import { KyselyActiveResourceRepository } from './resources-repository.js';
import { KyselyGatewayRouteRepository } from './routes-repository.js';
import { KyselySealedValueRepository } from './sealed-values-repository.js';
import { KyselySessionRepository } from './sessions-repository.js';
import { KyselyTargetRepository } from './targets-repository.js';
import type { Dialect, Store } from './store.js';
import { KyselyTeamRepository } from './teams-repository.js';
import { KyselyTokenRepository } from './tokens-repository.js';
import { KyselyValueRepository } from './values-repository.js';

/** The Store over one Kysely handle: the database itself, or a transaction of it. */
export class KyselyStore implements Store {
  readonly dialect: Dialect;
  readonly apps: KyselyAppRepository;
  readonly envTypes: KyselyEnvTypeRepository;
  readonly environments: KyselyEnvironmentRepository;
  readonly values: KyselyValueRepository;
  readonly principals: KyselyPrincipalRepository;
  readonly tokens: KyselyTokenRepository;
  readonly grants: KyselyRoleGrantRepository;
  readonly deployments: KyselyDeploymentRepository;
  readonly sets: KyselyDeploymentSetRepository;
  readonly resources: KyselyActiveResourceRepository;
  readonly ports: KyselyPortAllocationRepository;
  readonly routes: KyselyGatewayRouteRepository;
  readonly definitions: KyselyResourceDefinitionRepository;
  readonly targets: KyselyTargetRepository;
  readonly teams: KyselyTeamRepository;
  readonly sessions: KyselySessionRepository;
  readonly loginFailures: KyselyLoginFailureRepository;
  readonly audit: KyselyAuditRepository;
  readonly sealed: KyselySealedValueRepository;
  readonly #context: RepositoryContext;

  constructor(context: RepositoryContext) {
    this.#context = context;
    this.dialect = context.dialect;
    this.apps = new KyselyAppRepository(context);
    this.envTypes = new KyselyEnvTypeRepository(context);
    this.environments = new KyselyEnvironmentRepository(context);
    this.values = new KyselyValueRepository(context);
    this.principals = new KyselyPrincipalRepository(context);
    this.tokens = new KyselyTokenRepository(context);
    this.grants = new KyselyRoleGrantRepository(context);
    this.deployments = new KyselyDeploymentRepository(context);
    this.sets = new KyselyDeploymentSetRepository(context);
    this.resources = new KyselyActiveResourceRepository(context);
    this.ports = new KyselyPortAllocationRepository(context);
    this.routes = new KyselyGatewayRouteRepository(context);
    this.definitions = new KyselyResourceDefinitionRepository(context);
    this.teams = new KyselyTeamRepository(context);
    this.sessions = new KyselySessionRepository(context);
    this.loginFailures = new KyselyLoginFailureRepository(context);
    this.audit = new KyselyAuditRepository(context);
    this.targets = new KyselyTargetRepository(context);
    this.sealed = new KyselySealedValueRepository(context);
  }

  readonly installationId = async (): Promise<string> => {
    const row = await this.#context.db.selectFrom('installation').select('id').executeTakeFirst();
    if (row === undefined) {
      // Only a store whose row was deleted by hand: a new id would disown its containers.
      throw new PavedError(
        'INTERNAL',
        'the store has no installation id (table "installation" is empty); restore that row from a backup of this store',
      );
    }
    return row.id;
  };

  /**
   * A nested call joins the transaction already running (Kysely cannot begin one inside
   * another); the outermost call commits, or rolls everything back when `work` throws.
   *
   * `transaction` and `close` are bound properties rather than methods so that a copy of the
   * store (`{ ...store, apps: fake }`, as tests make) keeps them.
   */
  readonly transaction = async <T>(work: (store: Store) => Promise<T>): Promise<T> => {
    if (this.#context.db.isTransaction) return work(this);
    return this.#context.db
      .transaction()
      .execute((trx) => work(new KyselyStore({ ...this.#context, db: trx })));
  };

  readonly close = async (): Promise<void> => {
    if (this.#context.db.isTransaction) {
      throw new PavedError(
        'INTERNAL',
        'close() the store that opened the transaction, not the one bound to it',
      );
    }
    await this.#context.db.destroy();
  };
}
