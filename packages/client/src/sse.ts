/** One Server-Sent Event as dispatched by the parser. */
export interface SseMessage {
  /** `message` when the server sent no `event:` line, as the HTML standard says. */
  event: string;
  data: string;
  /** The last `id:` seen so far on the stream (it carries over to later events). */
  id?: string;
}

/**
 * An incremental Server-Sent Events parser (the `text/event-stream` format of the HTML standard):
 * feed it text as it arrives, in chunks cut anywhere, and it returns the complete events. Lines
 * end in CRLF, LF or CR; `:` lines are comments (keep-alives); an event is dispatched on a blank
 * line; several `data:` lines join with `\n`; one space after the colon is dropped.
 *
 * @example
 * const parser = new SseParser();
 * for (const message of parser.push('event: end\ndata: {}\n\n')) console.log(message.event);
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #hasData = false;
  #lastId: string | undefined;
  /** A CR ended the last chunk: a LF starting the next one belongs to it. */
  #pendingCr = false;

  /** The id the server last sent, to resume with `Last-Event-ID`. */
  get lastEventId(): string | undefined {
    return this.#lastId;
  }

  push(text: string): SseMessage[] {
    let chunk = text;
    if (this.#pendingCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    this.#pendingCr = false;
    this.#buffer += chunk;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (match === null) break;
      // A CR at the very end may be the first half of a CRLF cut between two chunks.
      if (match[0] === '\r' && match.index === this.#buffer.length - 1) {
        this.#pendingCr = true;
      }
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      const message = this.#line(line);
      if (message !== undefined) messages.push(message);
    }
    return messages;
  }

  /** The stream ended: an event without its closing blank line is discarded, as the standard says. */
  end(): void {
    this.#buffer = '';
    this.#reset();
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#event = value;
        break;
      case 'data':
        this.#data.push(value);
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\u0000')) this.#lastId = value;
        break;
      default:
        // `retry` and unknown fields: the client reconnects on its own terms.
        break;
    }
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    if (!this.#hasData) {
      this.#reset();
      return undefined;
    }
    const message: SseMessage = {
      event: this.#event === '' ? 'message' : this.#event,
      data: this.#data.join('\n'),
      ...(this.#lastId === undefined ? {} : { id: this.#lastId }),
    };
    this.#reset();
    return message;
  }

  #reset(): void {
    this.#event = '';
    this.#data = [];
    this.#hasData = false;
  }
}
