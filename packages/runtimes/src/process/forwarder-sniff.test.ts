import { describe, expect, it } from 'vitest';
import { classifyStart } from './forwarder-sniff.js';

const start = (text: string): Buffer => Buffer.from(text, 'latin1');

describe('classifyStart', () => {
  it('takes a known method and a space for HTTP/1.x', () => {
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'TRACE', 'CONNECT']) {
      expect(classifyStart(start(`${method} / HTTP/1.1\r\n`))).toBe('http');
    }
    expect(classifyStart(start('GET '))).toBe('http');
  });

  it('waits while the bytes so far could still start a method', () => {
    for (const prefix of ['G', 'GE', 'GET', 'P', 'PU', 'OPTIONS', 'CONNEC']) {
      expect(classifyStart(start(prefix))).toBeUndefined();
    }
  });

  it('relays anything else as TCP, the HTTP/2 preface included', () => {
    for (const other of [
      'PRI * HTTP/2.0\r\n',
      'PR',
      'GETX',
      'get / HTTP/1.1',
      '\u0000\u0001',
      'SSH-2.0-x',
      'CONNECTX',
    ]) {
      expect(classifyStart(start(other))).toBe('tcp');
    }
  });
});
