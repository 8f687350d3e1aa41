/**
 * Makes the image of each container present on the engine and says which one it is: `image: .` is
 * built from the uploaded context through the Engine API (build output streamed as `build.output`
 * events), a reference is pulled when the engine does not have it, with the target's credentials
 * for that registry. The digest recorded for the deployment is the registry digest of a pulled
 * image and the image ID of a built one.
 */
import type Docker from 'dockerode';
import { PavedError, type EnvironmentRef, type EventSink, type RenderedContainer } from '@paved/core';
import { contextTar, recipeFile } from './build-context.js';
import { builtImageTag, environmentLabels, LABEL, type Owner } from './docker-labels.js';
import { engineError, engineMessage, isNotFound } from './engine-errors.js';
import {
  credentialsFor,
  parseImageReference,
  repoDigestFor,
  type ImageReference,
} from './image-reference.js';

export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface ResolvedImage {
  /** What the container is created from: the image ID for built images, else the reference. */
  image: string;
  /** The reference as the deployment names it (the built tag for `image: .`). */
  reference: string;
  digest: string;
  /** The image's `User` and `WorkingDir`, for placing files. */
  user: string;
  workingDir: string;
}

/** Build output lines kept as evidence when a build fails. */
const EVIDENCE_LINES = 20;

interface ProgressEvent {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

export class ImageResolver {
  readonly #docker: Docker;
  readonly #owner: Owner;
  readonly #target: string;
  readonly #host: string;
  readonly #registries: Record<string, RegistryCredentials>;

  constructor(
    docker: Docker,
    owner: Owner,
    host: string,
    registries: Record<string, RegistryCredentials> = {},
  ) {
    this.#docker = docker;
    this.#owner = owner;
    this.#target = owner.target;
    this.#host = host;
    this.#registries = registries;
  }

  async resolve(
    env: EnvironmentRef,
    workload: string,
    container: string,
    spec: RenderedContainer,
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ResolvedImage> {
    const where = `workload "${workload}" container "${container}"`;
    if (spec.image === '.') {
      if (spec.context === undefined) {
        throw new PavedError(
          'INVALID_INPUT',
          `${where} uses image "." but no build context was uploaded; deploy with the Score file's folder or --build ${workload}=DIR`,
        );
      }
      return this.#build(env, workload, container, spec.context, events, signal);
    }
    return this.#pull(workload, container, spec.image, events, signal);
  }

  async #build(
    env: EnvironmentRef,
    workload: string,
    container: string,
    context: { dir: string; hash: string },
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ResolvedImage> {
    const where = `workload "${workload}" container "${container}"`;
    const tag = builtImageTag(env, workload, container, context.hash);
    // The tag holds the context's content hash: an image with this tag was built from the same files.
    const existing = await this.#inspect(tag, where);
    if (existing !== undefined) {
      events({
        level: 'info',
        type: 'build.output',
        workload,
        container,
        message: `image ${tag} was already built from this context (${existing.Id}); using it`,
      });
      return built(tag, existing);
    }
    const dockerfile = recipeFile(context.dir, where);
    const lines: string[] = [];
    const emit = (text: string, level: 'info' | 'error' = 'info'): void => {
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (lines.length > EVIDENCE_LINES) lines.shift();
        events({ level, type: 'build.output', workload, container, message: line });
      }
    };
    emit(`building ${tag} from ${dockerfile}`);
    let failure: string | undefined;
    try {
      const stream = await this.#docker.buildImage(contextTar(context.dir), {
        t: tag,
        dockerfile,
        rm: true,
        forcerm: true,
        labels: {
          ...environmentLabels(this.#owner, env),
          [LABEL.workload]: workload,
          [LABEL.container]: container,
        },
        abortSignal: signal,
      });
      await this.#follow(stream, (event) => {
        if (event.stream !== undefined) emit(event.stream);
        else if (event.status !== undefined) emit(event.status);
        const error = event.errorDetail?.message ?? event.error;
        if (error !== undefined) {
          failure = error.trim();
          emit(failure, 'error');
        }
      });
    } catch (error) {
      if (error instanceof PavedError) throw error;
      failure = engineError(this.#target, this.#host, where, error).message;
    }
    const image = failure === undefined ? await this.#inspect(tag, where) : undefined;
    if (image === undefined) {
      throw new PavedError(
        'TARGET_FAILED',
        `${where}: building the image from its context failed${failure === undefined ? '' : `: ${failure}`}; see the build output`,
        { details: { lastLogLines: [...lines] } },
      );
    }
    emit(`built ${tag} (${image.Id})`);
    return built(tag, image);
  }

  async #pull(
    workload: string,
    container: string,
    reference: string,
    events: EventSink,
    signal: AbortSignal,
  ): Promise<ResolvedImage> {
    const where = `workload "${workload}" container "${container}"`;
    const parsed = parseImageReference(reference);
    let image = await this.#inspect(reference, where);
    if (image === undefined) {
      const auth = credentialsFor(this.#registries, parsed);
      events({
        level: 'info',
        type: 'image.pull',
        workload,
        container,
        message: `pulling ${reference} from ${parsed.registry}${auth === undefined ? '' : ` as ${auth.credentials.username}`}`,
      });
      let failure: string | undefined;
      try {
        const stream = await this.#docker.pull(reference, {
          abortSignal: signal,
          ...(auth === undefined
            ? {}
            : {
                authconfig: {
                  username: auth.credentials.username,
                  password: auth.credentials.password,
                  serveraddress: auth.server,
                },
              }),
        });
        await this.#follow(stream, (event) => {
          const error = event.errorDetail?.message ?? event.error;
          if (error !== undefined) failure = error;
        });
      } catch (error) {
        if (error instanceof PavedError) throw error;
        failure = engineError(this.#target, this.#host, where, error).message;
      }
      if (failure !== undefined) throw this.#pullError(where, reference, parsed, failure, auth?.credentials);
      image = await this.#inspect(reference, where);
      if (image === undefined) {
        throw this.#pullError(
          where,
          reference,
          parsed,
          'the engine reported no error but has no such image',
          auth?.credentials,
        );
      }
      events({ level: 'info', type: 'image.pull', workload, container, message: `pulled ${reference}` });
    }
    const digest = repoDigestFor(parsed, image.RepoDigests) ?? image.Id;
    return {
      image: reference,
      reference,
      digest,
      user: image.Config?.User ?? '',
      workingDir: image.Config?.WorkingDir ?? '',
    };
  }

  #pullError(
    where: string,
    reference: string,
    parsed: ImageReference,
    failure: string,
    credentials: RegistryCredentials | undefined,
  ): PavedError {
    const message = this.scrub(failure.replace(/\s+/g, ' ').trim());
    const registry = parsed.registry;
    if (
      /unauthori[sz]ed|authentication required|access denied|denied:|incorrect username or password|\b401\b/i.test(
        message,
      )
    ) {
      const how =
        credentials === undefined
          ? `without credentials; add credentials for "${registry}" to the target's registries`
          : `with the credentials configured for it (user "${credentials.username}"); check the target's registry credentials for "${registry}"`;
      return new PavedError(
        'TARGET_FAILED',
        `${where}: registry ${registry} refused to serve image "${reference}" ${how} (${message})`,
      );
    }
    if (/server gave HTTP response to HTTPS client/i.test(message)) {
      return new PavedError(
        'TARGET_FAILED',
        `${where}: registry ${registry} answers plain HTTP but the engine talks HTTPS to it, so image "${reference}" cannot be pulled; list ${registry} as an insecure registry in the engine's configuration (Docker: daemon.json "insecure-registries"; Podman: registries.conf "insecure = true") and restart the engine (${message})`,
      );
    }
    if (
      /manifest unknown|not found|name unknown|no such image|does not exist|image not known/i.test(message)
    ) {
      return new PavedError(
        'NOT_FOUND',
        `${where}: image "${reference}" does not exist in registry ${registry} (${message}); check the repository, tag or digest`,
      );
    }
    if (
      /connection refused|no such host|i\/o timeout|dial tcp|network is unreachable|TLS handshake timeout/i.test(
        message,
      )
    ) {
      return new PavedError(
        'TARGET_FAILED',
        `${where}: image "${reference}" is not on the engine and registry ${registry} cannot be reached to pull it (${message}); check the image name and the registry address, or build or load the image on the engine`,
      );
    }
    return new PavedError(
      'TARGET_FAILED',
      `${where}: pulling image "${reference}" from ${registry} failed: ${message}`,
    );
  }

  /** Removes every configured password from a text that came back from the engine. */
  scrub(text: string): string {
    let clean = text;
    for (const { password } of Object.values(this.#registries)) {
      if (password !== '') clean = clean.split(password).join('***');
    }
    return clean;
  }

  async #inspect(reference: string, where: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.#docker.getImage(reference).inspect();
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw engineError(this.#target, this.#host, `${where}: looking up image "${reference}"`, error);
    }
  }

  #follow(stream: NodeJS.ReadableStream, onEvent: (event: ProgressEvent) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#docker.modem.followProgress(
        stream,
        (error: Error | null) => (error === null ? resolve() : reject(new Error(engineMessage(error)))),
        (event: ProgressEvent) => onEvent(event),
      );
    });
  }
}

function built(tag: string, image: Docker.ImageInspectInfo): ResolvedImage {
  return {
    image: image.Id,
    reference: tag,
    digest: image.Id,
    user: image.Config?.User ?? '',
    workingDir: image.Config?.WorkingDir ?? '',
  };
}
