/**
 * Users, teams and role bindings as `paved.dev/v1` documents, for `paved apply`. Every document
 * is checked first, every problem reported at once with its file and line, and nothing is written
 * unless all of them are valid; then everything is written in one transaction.
 */
import { randomUUID } from 'node:crypto';
import {
  PavedError,
  grantProblem,
  rolesAt,
  type GrantScope,
  type Permission,
  type Problem,
} from '@paved/core';
import { teamSubject, type Principal, type Store } from '@paved/store';
import { z } from 'zod';
import { zodProblems } from '../http/zod-problems.js';

export const ACCESS_API_VERSION = 'paved.dev/v1';
export const ACCESS_KINDS = ['User', 'Team', 'RoleBinding'] as const;
export type AccessKind = (typeof ACCESS_KINDS)[number];

const PRINCIPAL_NAME = /^[a-z0-9](?:[a-z0-9._@-]{0,62}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const SUBJECT = /^(user|service-account|team):([a-z0-9][a-z0-9._@-]{0,63})$/;

const located = {
  file: z.string().meta({ description: 'The file the document came from, for problems.' }),
  line: z.number().int().positive().optional(),
  apiVersion: z.literal(ACCESS_API_VERSION, { error: `apiVersion must be ${ACCESS_API_VERSION}` }),
};

export const userDocumentSchema = z.strictObject({
  ...located,
  kind: z.literal('User'),
  metadata: z.strictObject({
    name: z.string().regex(PRINCIPAL_NAME, {
      error: 'metadata.name must be 1 to 64 lower-case letters, digits, ".", "_", "@" and "-"',
    }),
  }),
  spec: z
    .strictObject({
      serviceAccount: z
        .boolean()
        .optional()
        .meta({ description: 'A machine user (for CI) instead of a person; fixed once created.' }),
      app: z
        .string()
        .regex(DNS_LABEL, { error: 'spec.app must be an app name' })
        .optional()
        .meta({ description: 'Service accounts only: the app it belongs to, whose owners manage it.' }),
      role: z
        .enum(rolesAt('org') as [string, ...string[]], {
          error: `spec.role must be an organisation role: ${rolesAt('org').join(', ')}`,
        })
        .optional()
        .meta({
          description:
            'Its one organisation role (others are revoked); users created without one get member.',
        }),
      disabled: z
        .boolean()
        .optional()
        .meta({ description: 'Disabled principals cannot log in or use tokens.' }),
    })
    .optional()
    .meta({ description: 'No password: set one with `paved users set-password`.' }),
});

export const teamDocumentSchema = z.strictObject({
  ...located,
  kind: z.literal('Team'),
  metadata: z.strictObject({
    name: z.string().regex(DNS_LABEL, { error: 'metadata.name must be a DNS label' }),
  }),
  spec: z
    .strictObject({
      description: z.string().max(500).optional(),
      members: z
        .array(z.string().regex(PRINCIPAL_NAME, { error: 'a member is a user or service account name' }))
        .optional()
        .meta({
          description: 'Exactly these users and service accounts; others are removed. Absent: unchanged.',
        }),
    })
    .optional(),
});

export const roleBindingDocumentSchema = z.strictObject({
  ...located,
  kind: z.literal('RoleBinding'),
  metadata: z.strictObject({ name: z.string().min(1).max(128) }),
  spec: z
    .strictObject({
      role: z.string().min(1).meta({ description: 'An organisation, app or environment-type role.' }),
      subject: z.string().regex(SUBJECT, {
        error: 'spec.subject is user:<name>, service-account:<name> or team:<name>',
      }),
      app: z
        .string()
        .regex(DNS_LABEL, { error: 'spec.app must be an app name' })
        .optional()
        .meta({ description: 'For an app role: the app.' }),
      envType: z
        .string()
        .regex(DNS_LABEL, { error: 'spec.envType must be an environment type name' })
        .optional()
        .meta({ description: 'For an environment-type role: the type. Neither: the organisation.' }),
    })
    .refine((spec) => spec.app === undefined || spec.envType === undefined, {
      message: 'give spec.app or spec.envType, not both',
    }),
});

export type UserDocument = z.output<typeof userDocumentSchema>;
export type TeamDocument = z.output<typeof teamDocumentSchema>;
export type RoleBindingDocument = z.output<typeof roleBindingDocumentSchema>;
type AccessDocument = UserDocument | TeamDocument | RoleBindingDocument;

const SCHEMAS: Record<AccessKind, z.ZodType<AccessDocument>> = {
  User: userDocumentSchema,
  Team: teamDocumentSchema,
  RoleBinding: roleBindingDocumentSchema,
};

/** Whether a document is one `applyAccessDocuments` handles. */
export function isAccessDocument(document: unknown): boolean {
  const kind = (document as { kind?: unknown } | null)?.kind;
  return typeof kind === 'string' && (ACCESS_KINDS as readonly string[]).includes(kind);
}

export interface AccessApplyItem {
  kind: AccessKind;
  name: string;
  action: 'created' | 'updated' | 'unchanged';
}

export interface AccessApplyResult {
  created: number;
  updated: number;
  unchanged: number;
  items: AccessApplyItem[];
}

export interface ApplyAccessOptions {
  /** Who applies: recorded as the creator of teams. */
  actor: string;
}

/**
 * Applies `User`, `Team` and `RoleBinding` documents:
 *
 * - `User`: creates the user (or, with `serviceAccount: true`, service account; `app` makes it an
 *   app's); `role` makes that its one organisation role (users get `member` when created without
 *   one); `disabled` disables or enables it. Passwords are not part of files: set them with
 *   `paved users set-password`.
 * - `Team`: creates the team; `members` is its exact membership.
 * - `RoleBinding`: grants `role` to `subject` on the organisation, `app` or `envType`. Applying
 *   never revokes a binding that is not in the files.
 *
 * Users come first, then teams, then bindings, so a file may name what another document creates.
 *
 * @throws PavedError INVALID_INPUT listing every problem (with file, line and JSON path), with
 *   nothing written.
 * @example
 * await applyAccessDocuments(store, [
 *   { file: 'team.yaml', apiVersion: 'paved.dev/v1', kind: 'Team', metadata: { name: 'web' }, spec: { members: ['alice'] } },
 * ], { actor: 'admin' });
 */
export async function applyAccessDocuments(
  store: Store,
  documents: readonly unknown[],
  options: ApplyAccessOptions,
): Promise<AccessApplyResult> {
  const { checked, problems } = await checkAccessDocuments(store, documents);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw PavedError.invalid(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the access configuration, nothing was applied; first: ${first.file ?? ''}${first.line === undefined ? '' : `:${first.line}`}: ${first.path === '' ? '' : `${first.path}: `}${first.message}`,
      problems,
    );
  }
  return store.transaction(async (tx) => {
    const items = await writeAccessDocuments(tx, checked, options);
    return {
      created: items.filter((item) => item.action === 'created').length,
      updated: items.filter((item) => item.action === 'updated').length,
      unchanged: items.filter((item) => item.action === 'unchanged').length,
      items,
    };
  });
}

/** Access documents that passed every check, ready for `writeAccessDocuments`. */
export interface CheckedAccessDocuments {
  users: UserDocument[];
  teams: TeamDocument[];
  bindings: RoleBindingDocument[];
}

export interface CheckAccessOptions {
  /**
   * Environment types written in the same apply, before the access documents: a binding may
   * name one of them.
   */
  envTypes?: ReadonlySet<string>;
}

/**
 * The check phase of `applyAccessDocuments`: every problem of every document (file, line, JSON
 * path), including names that exist neither in the store nor among the documents. Writes nothing.
 */
export async function checkAccessDocuments(
  store: Store,
  documents: readonly unknown[],
  options: CheckAccessOptions = {},
): Promise<{ checked: CheckedAccessDocuments; problems: Problem[] }> {
  const { users, teams, bindings, problems } = parseDocuments(documents);
  if (problems.length === 0) {
    problems.push(...(await referenceProblems(store, users, teams, bindings, options.envTypes)));
  }
  return { checked: { users, teams, bindings }, problems };
}

/**
 * The write phase: users first, then teams, then bindings, so a document may name what another
 * creates. Give it a transaction's store, and only documents `checkAccessDocuments` found valid.
 */
export async function writeAccessDocuments(
  tx: Store,
  checked: CheckedAccessDocuments,
  options: ApplyAccessOptions,
): Promise<AccessApplyItem[]> {
  const items: AccessApplyItem[] = [];
  for (const document of checked.users) items.push(await putUser(tx, document));
  for (const document of checked.teams) items.push(await putTeam(tx, document, options.actor));
  for (const document of checked.bindings) items.push(await putBinding(tx, document));
  return items;
}

/**
 * The permissions applying `documents` needs besides `platform.apply`, so that `paved apply`
 * never lets a caller do what the user, team and role-binding routes would refuse it:
 * `users.manage` for users and role bindings (creating principals, granting any role) and for a
 * team's `members` (joining a team hands over the roles granted to it), `teams.manage` for teams.
 */
export function accessPermissions(documents: readonly unknown[]): Permission[] {
  const needed = new Set<Permission>();
  for (const document of documents) {
    const { kind, spec } = (document ?? {}) as { kind?: unknown; spec?: unknown };
    if (kind === 'User' || kind === 'RoleBinding') needed.add('users.manage');
    if (kind === 'Team') {
      needed.add('teams.manage');
      if (typeof spec === 'object' && spec !== null && Object.hasOwn(spec, 'members')) {
        needed.add('users.manage');
      }
    }
  }
  return [...needed].sort();
}

function parseDocuments(documents: readonly unknown[]): {
  users: UserDocument[];
  teams: TeamDocument[];
  bindings: RoleBindingDocument[];
  problems: Problem[];
} {
  const users: UserDocument[] = [];
  const teams: TeamDocument[] = [];
  const bindings: RoleBindingDocument[] = [];
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  documents.forEach((raw, index) => {
    const where = locationOf(raw, index);
    const kind = (raw as { kind?: unknown } | null)?.kind;
    if (typeof kind !== 'string' || !(ACCESS_KINDS as readonly string[]).includes(kind)) {
      problems.push({ ...where, path: 'kind', message: `kind must be one of ${ACCESS_KINDS.join(', ')}` });
      return;
    }
    const spec = (raw as { spec?: unknown }).spec;
    if (kind === 'User' && typeof spec === 'object' && spec !== null && Object.hasOwn(spec, 'password')) {
      // Said plainly (and without the value): a password in a file ends up in git.
      problems.push({
        ...where,
        path: 'spec.password',
        message:
          'passwords are not part of files, where they would end up in git; remove spec.password and set it with paved users set-password',
      });
      return;
    }
    const result = SCHEMAS[kind as AccessKind].safeParse(raw);
    if (!result.success) {
      problems.push(...zodProblems(result.error.issues).map((problem) => ({ ...where, ...problem })));
      return;
    }
    const document = result.data;
    const key = `${document.kind}/${document.metadata.name}`;
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({ ...where, path: 'metadata.name', message: `${key} is also defined at ${earlier}` });
      return;
    }
    seen.set(
      key,
      `${where.file ?? `document ${index + 1}`}${where.line === undefined ? '' : `:${where.line}`}`,
    );
    if (document.kind === 'User') {
      const spec = document.spec ?? {};
      if (spec.app !== undefined && spec.serviceAccount !== true) {
        problems.push({
          ...where,
          path: 'spec.app',
          message: 'only service accounts belong to an app; set serviceAccount: true',
        });
      }
      users.push(document);
    } else if (document.kind === 'Team') teams.push(document);
    else {
      const problem = grantProblem(document.spec.role, scopeOf(document.spec));
      if (problem !== undefined) problems.push({ ...where, path: 'spec.role', message: problem });
      bindings.push(document);
    }
  });
  return { users, teams, bindings, problems };
}

/** Names that must exist, in the store or among the documents applied with them. */
async function referenceProblems(
  store: Store,
  users: UserDocument[],
  teams: TeamDocument[],
  bindings: RoleBindingDocument[],
  appliedEnvTypes: ReadonlySet<string> = new Set(),
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const principals = new Map(users.map((user) => [user.metadata.name, user.spec?.serviceAccount === true]));
  const principalKind = async (name: string): Promise<'user' | 'service-account' | undefined> => {
    if (principals.has(name)) return principals.get(name) === true ? 'service-account' : 'user';
    return (await store.principals.findByName(name))?.kind;
  };
  const teamNames = new Set(teams.map((team) => team.metadata.name));
  for (const user of users) {
    const existing = await store.principals.findByName(user.metadata.name);
    const kind = user.spec?.serviceAccount === true ? 'service-account' : 'user';
    if (existing !== undefined && existing.kind !== kind) {
      problems.push({
        ...locationOf(user, 0),
        path: 'spec.serviceAccount',
        message: `"${user.metadata.name}" exists as a ${existing.kind}; a user cannot become a service account or back`,
      });
    }
    if (user.spec?.app !== undefined && (await store.apps.get(user.spec.app)) === undefined) {
      problems.push({
        ...locationOf(user, 0),
        path: 'spec.app',
        message: `app "${user.spec.app}" does not exist`,
      });
    }
  }
  for (const team of teams) {
    for (const [index, member] of (team.spec?.members ?? []).entries()) {
      if ((await principalKind(member)) === undefined) {
        problems.push({
          ...locationOf(team, 0),
          path: `spec.members[${index}]`,
          message: `"${member}" is not a user or service account; add a User document or create it first`,
        });
      }
    }
  }
  for (const binding of bindings) {
    const where = locationOf(binding, 0);
    const [, kind, name] = SUBJECT.exec(binding.spec.subject)!;
    if (kind === 'team') {
      if (!teamNames.has(name!) && (await store.teams.get(name!)) === undefined) {
        problems.push({
          ...where,
          path: 'spec.subject',
          message: `team "${name}" does not exist; add a Team document`,
        });
      }
    } else if ((await principalKind(name!)) !== kind) {
      problems.push({
        ...where,
        path: 'spec.subject',
        message: `${kind} "${name}" does not exist; add a User document`,
      });
    }
    if (binding.spec.app !== undefined && (await store.apps.get(binding.spec.app)) === undefined) {
      problems.push({ ...where, path: 'spec.app', message: `app "${binding.spec.app}" does not exist` });
    }
    if (
      binding.spec.envType !== undefined &&
      !appliedEnvTypes.has(binding.spec.envType) &&
      (await store.envTypes.get(binding.spec.envType)) === undefined
    ) {
      problems.push({
        ...where,
        path: 'spec.envType',
        message: `environment type "${binding.spec.envType}" does not exist`,
      });
    }
  }
  return problems;
}

async function putUser(store: Store, document: UserDocument): Promise<AccessApplyItem> {
  const spec = document.spec ?? {};
  const name = document.metadata.name;
  let principal: Principal | undefined = await store.principals.findByName(name);
  let action: AccessApplyItem['action'] = 'unchanged';
  if (principal === undefined) {
    principal = await store.principals.create({
      id: randomUUID(),
      kind: spec.serviceAccount === true ? 'service-account' : 'user',
      name,
      ...(spec.app === undefined ? {} : { app: spec.app }),
    });
    action = 'created';
  }
  const wanted = spec.role ?? (action === 'created' && principal.kind === 'user' ? 'member' : undefined);
  if (wanted !== undefined) {
    const current = (await store.grants.list({ subject: principal.id, scope: { kind: 'org' } })).map(
      (grant) => grant.role,
    );
    for (const role of current.filter((role) => role !== wanted)) {
      await store.grants.revoke({ subject: principal.id, role, scope: { kind: 'org' } });
    }
    if (!current.includes(wanted))
      await store.grants.grant({ subject: principal.id, role: wanted, scope: { kind: 'org' } });
    if (action === 'unchanged' && (current.length !== 1 || current[0] !== wanted)) action = 'updated';
  }
  if (spec.disabled !== undefined && spec.disabled !== principal.disabled) {
    await store.principals.setDisabled(principal.id, spec.disabled);
    if (action === 'unchanged') action = 'updated';
  }
  return { kind: 'User', name, action };
}

async function putTeam(store: Store, document: TeamDocument, actor: string): Promise<AccessApplyItem> {
  const name = document.metadata.name;
  const spec = document.spec ?? {};
  let action: AccessApplyItem['action'] = 'unchanged';
  const existing = await store.teams.get(name);
  if (existing === undefined) {
    await store.teams.create({
      name,
      ...(spec.description === undefined ? {} : { description: spec.description }),
      createdBy: actor,
    });
    action = 'created';
  } else if (spec.description !== undefined && spec.description !== existing.description) {
    await store.teams.setDescription(name, spec.description);
    action = 'updated';
  }
  if (spec.members !== undefined) {
    const current = new Map((await store.teams.members(name)).map((member) => [member.name, member.id]));
    const wanted = new Set(spec.members);
    for (const [memberName, id] of current) {
      if (!wanted.has(memberName)) {
        await store.teams.removeMember(name, id);
        if (action === 'unchanged') action = 'updated';
      }
    }
    for (const memberName of wanted) {
      if (current.has(memberName)) continue;
      const principal = await store.principals.findByName(memberName);
      if (principal === undefined) throw new PavedError('NOT_FOUND', `"${memberName}" does not exist`);
      await store.teams.addMember(name, principal.id);
      if (action === 'unchanged') action = 'updated';
    }
  }
  return { kind: 'Team', name, action };
}

async function putBinding(store: Store, document: RoleBindingDocument): Promise<AccessApplyItem> {
  const [, kind, name] = SUBJECT.exec(document.spec.subject)!;
  const subject =
    kind === 'team'
      ? teamSubject(name!)
      : ((await store.principals.findByName(name!))?.id ?? `missing:${name}`);
  const scope = scopeOf(document.spec);
  const existing = await store.grants.list({ subject, role: document.spec.role, scope });
  if (existing.length > 0) return { kind: 'RoleBinding', name: document.metadata.name, action: 'unchanged' };
  await store.grants.grant({ subject, role: document.spec.role, scope });
  return { kind: 'RoleBinding', name: document.metadata.name, action: 'created' };
}

function scopeOf(spec: { app?: string | undefined; envType?: string | undefined }): GrantScope {
  if (spec.app !== undefined) return { kind: 'app', app: spec.app };
  if (spec.envType !== undefined) return { kind: 'env-type', envType: spec.envType };
  return { kind: 'org' };
}

function locationOf(document: unknown, index: number): Pick<Problem, 'file' | 'line'> {
  const { file, line } = (document ?? {}) as { file?: unknown; line?: unknown };
  return {
    file: typeof file === 'string' ? file : `document ${index + 1}`,
    ...(typeof line === 'number' ? { line } : {}),
  };
}
