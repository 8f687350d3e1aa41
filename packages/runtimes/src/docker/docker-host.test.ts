import { describe, expect, it } from 'vitest';
import { dockerConnection, findDockerHost, usualDockerSockets } from './docker-host.js';

describe('findDockerHost', () => {
  const none = (): boolean => false;

  it('takes DOCKER_HOST first, whatever sockets exist', () => {
    expect(findDockerHost({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }, () => true)).toBe('tcp://10.0.0.5:2375');
  });

  it('then the first of the usual Docker and Podman sockets that exists', () => {
    const env = { XDG_RUNTIME_DIR: '/run/user/1000' };
    expect(usualDockerSockets(env)).toEqual([
      '/var/run/docker.sock',
      '/run/podman/podman.sock',
      '/run/user/1000/podman/podman.sock',
    ]);
    expect(findDockerHost(env, (path) => path === '/run/podman/podman.sock')).toBe(
      'unix:///run/podman/podman.sock',
    );
    expect(findDockerHost(env, (path) => path.startsWith('/run/user/'))).toBe(
      'unix:///run/user/1000/podman/podman.sock',
    );
    expect(findDockerHost(env, () => true)).toBe('unix:///var/run/docker.sock');
  });

  it('finds nothing when nothing is there (no docker target then)', () => {
    expect(findDockerHost({ DOCKER_HOST: '  ' }, none)).toBeUndefined();
    expect(findDockerHost({}, none)).toBeUndefined();
  });
});

describe('dockerConnection', () => {
  it('reads unix sockets and plain TCP addresses', () => {
    expect(dockerConnection('unix:///run/paved-test/podman.sock')).toEqual({
      socketPath: '/run/paved-test/podman.sock',
    });
    expect(dockerConnection('/var/run/docker.sock')).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerConnection('tcp://10.0.0.5:2375')).toEqual({
      protocol: 'http',
      host: '10.0.0.5',
      port: 2375,
    });
    expect(dockerConnection('tcp://engine.local')).toEqual({
      protocol: 'http',
      host: 'engine.local',
      port: 2375,
    });
  });

  it('refuses anything else, saying what it accepts', () => {
    for (const host of [
      'ssh://me@host',
      'npipe:////./pipe/docker_engine',
      'unix://relative.sock',
      'tcp://host:1/path',
    ]) {
      expect(() => dockerConnection(host)).toThrow(
        /use unix:\/\/\/path\/to\/docker.sock or tcp:\/\/host:port/,
      );
    }
  });
});
