/**
 * Whether an AMQP 0-9-1 server (RabbitMQ) lets a user into a virtual host: the connection handshake
 * up to `Connection.Open-Ok`, then a clean close. The readiness check of dedicated RabbitMQ
 * containers; small enough not to need a client library (amqplib is only a test dependency).
 */
import { Socket } from 'node:net';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const FRAME_METHOD = 1;
const FRAME_END = 0xce;
const CONNECTION = 10;
const METHOD = { start: 10, startOk: 11, tune: 30, tuneOk: 31, open: 40, openOk: 41, close: 50, closeOk: 51 };

/** Why the server refused: its reply code and text (403 ACCESS_REFUSED, 530 NOT_ALLOWED, …). */
export class AmqpRefusal extends Error {
  readonly replyCode: number;

  constructor(replyCode: number, text: string) {
    super(`the AMQP server refused the login: ${replyCode} ${text}`);
    this.replyCode = replyCode;
  }
}

interface Login {
  host: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  timeoutMs: number;
}

function shortString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

function longString(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function methodFrame(method: number, args: Buffer): Buffer {
  const header = Buffer.alloc(11);
  header.writeUInt8(FRAME_METHOD, 0);
  header.writeUInt16BE(0, 1);
  header.writeUInt32BE(4 + args.length, 3);
  header.writeUInt16BE(CONNECTION, 7);
  header.writeUInt16BE(method, 9);
  return Buffer.concat([header, args, Buffer.from([FRAME_END])]);
}

/** A method frame of channel 0 the server sent: its method id and arguments. */
interface Received {
  classId: number;
  method: number;
  args: Buffer;
}

/**
 * Logs in and out. Resolves when the server opened the virtual host for the user; rejects with an
 * {@link AmqpRefusal} when it refused (wrong credentials, no access to the vhost), with the socket's
 * error when it cannot be reached, and with a timeout error after `timeoutMs`.
 */
export function amqpLogin(login: Login, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = new Socket();
    let buffer = Buffer.alloc(0);
    let loggingIn = false;
    let opened = false;
    let settled = false;
    const finish = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => finish(signal.reason as Error);
    const timer = setTimeout(
      () => finish(new Error(`no AMQP answer within ${login.timeoutMs} ms`)),
      login.timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) {
      onAbort();
      return;
    }

    const onMethod = ({ classId, method, args }: Received): void => {
      if (classId !== CONNECTION) return;
      switch (method) {
        case METHOD.start: {
          const response = Buffer.from(`\u0000${login.username}\u0000${login.password}`, 'utf8');
          loggingIn = true;
          socket.write(
            methodFrame(
              METHOD.startOk,
              Buffer.concat([
                longString(Buffer.alloc(0)),
                shortString('PLAIN'),
                longString(response),
                shortString('en_US'),
              ]),
            ),
          );
          return;
        }
        case METHOD.tune: {
          const tuneOk = Buffer.alloc(8);
          tuneOk.writeUInt16BE(args.readUInt16BE(0), 0);
          tuneOk.writeUInt32BE(args.readUInt32BE(2), 2);
          tuneOk.writeUInt16BE(0, 6);
          socket.write(methodFrame(METHOD.tuneOk, tuneOk));
          socket.write(
            methodFrame(
              METHOD.open,
              Buffer.concat([shortString(login.vhost), shortString(''), Buffer.from([0])]),
            ),
          );
          return;
        }
        case METHOD.openOk: {
          opened = true;
          const close = Buffer.alloc(7);
          close.writeUInt16BE(200, 0);
          close.writeUInt8(0, 2);
          close.writeUInt16BE(0, 3);
          close.writeUInt16BE(0, 5);
          socket.write(methodFrame(METHOD.close, close));
          return;
        }
        case METHOD.closeOk:
          finish();
          return;
        case METHOD.close: {
          const code = args.readUInt16BE(0);
          const text = args.subarray(3, 3 + args.readUInt8(2)).toString('utf8');
          socket.write(methodFrame(METHOD.closeOk, Buffer.alloc(0)));
          finish(new AmqpRefusal(code, text));
          return;
        }
        default:
          return;
      }
    };

    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      // A server that does not speak 0-9-1 answers with its own protocol header.
      if (buffer.length >= 8 && buffer.subarray(0, 4).toString('latin1') === 'AMQP') {
        finish(new Error(`the server speaks another AMQP version (${[...buffer.subarray(4, 8)].join('.')})`));
        return;
      }
      while (buffer.length >= 7) {
        const size = buffer.readUInt32BE(3);
        if (buffer.length < 7 + size + 1) return;
        const type = buffer.readUInt8(0);
        const payload = buffer.subarray(7, 7 + size);
        buffer = buffer.subarray(7 + size + 1);
        if (type === FRAME_METHOD && payload.length >= 4) {
          onMethod({
            classId: payload.readUInt16BE(0),
            method: payload.readUInt16BE(2),
            args: payload.subarray(4),
          });
        }
      }
    });
    socket.on('error', (error) => {
      // RabbitMQ resets the connection when the credentials are wrong.
      if (loggingIn && !opened) finish(new AmqpRefusal(403, `ACCESS_REFUSED (${error.message})`));
      else finish(error);
    });
    socket.on('close', () => {
      // RabbitMQ closes the socket without a Close method when the login itself fails.
      if (loggingIn && !opened) {
        finish(new AmqpRefusal(403, 'the server closed the connection during the login (ACCESS_REFUSED)'));
      } else if (!opened) finish(new Error('the server closed the connection before the AMQP handshake'));
      else finish();
    });
    socket.connect(login.port, login.host, () => socket.write(PROTOCOL_HEADER));
  });
}
