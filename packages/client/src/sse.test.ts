import { describe, expect, it } from 'vitest';
import { SseParser } from './sse.js';

describe('SseParser', () => {
  it('parses events with type, id and data', () => {
    const parser = new SseParser();
    expect(parser.push('event: deployment-event\nid: 1\ndata: {"seq":1}\n\n')).toEqual([
      { event: 'deployment-event', id: '1', data: '{"seq":1}' },
    ]);
    expect(parser.lastEventId).toBe('1');
  });

  it('assembles events cut anywhere across chunks, with any line ending', () => {
    const text = 'event: a\r\ndata: one\r\n\r\n: keep-alive\n\nevent: b\rdata: two\r\rdata: three\n\n';
    const whole = new SseParser().push(text);
    for (let cut = 1; cut < text.length; cut += 1) {
      const parser = new SseParser();
      const messages = [...parser.push(text.slice(0, cut)), ...parser.push(text.slice(cut))];
      expect(messages, `cut at ${cut}`).toEqual(whole);
    }
    expect(whole).toEqual([
      { event: 'a', data: 'one' },
      { event: 'b', data: 'two' },
      { event: 'message', data: 'three' },
    ]);
  });

  it('joins data lines, keeps spaces after the first, and ignores comments and unknown fields', () => {
    const parser = new SseParser();
    expect(parser.push(': hello\nretry: 10\nfoo: bar\ndata:  a\ndata:b\ndata\n\n')).toEqual([
      { event: 'message', data: ' a\nb\n' },
    ]);
  });

  it('carries the last id over to later events and drops events without data', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\n\nevent: x\n\ndata: d\n\n')).toEqual([
      { event: 'message', id: '7', data: 'd' },
    ]);
  });

  it('discards an event the stream ended in the middle of', () => {
    const parser = new SseParser();
    expect(parser.push('event: end\ndata: {}')).toEqual([]);
    parser.end();
    expect(parser.push('\n\n')).toEqual([]);
  });
});
