/** The CLI's client of the REST API; turns HTTP errors back into ControlPlaneErrors with the server's code. */
import { ControlPlaneError, ERROR_CODES, type ErrorCode } from '../errors.js';

/**
 * A reply read whole. The client speaks `node:http` rather than `fetch`: a short command spends most of its life
 * starting, and the first `fetch` loads undici and compiles its parser, which costs more than the request.
 */
interface Reply {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  body: Buffer;
}

export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly token: string | undefined,
  ) {}

  async request<T>(
    method: string,
    path: string,
    body?: { text: string; contentType: string },
    headers?: Record<string, string>,
  ): Promise<T> {
    const res = await this.send(method, path, body, headers);
    const text = res.body.toString('utf8');
    if (!res.ok) throw errorOf(res, text);
    return (res.header('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  }

  /** A GET whose body is bytes (an adapter archive), with a reader of the response headers. */
  async download(path: string): Promise<{ data: Buffer; header(name: string): string | undefined }> {
    const res = await this.send('GET', path);
    if (!res.ok) throw errorOf(res, res.body.toString('utf8'));
    return { data: res.body, header: res.header };
  }

  private async send(
    method: string,
    path: string,
    body?: { text: string; contentType: string },
    headers?: Record<string, string>,
  ): Promise<Reply> {
    try {
      return await sendRequest(
        new URL(`${this.baseUrl}${path}`),
        method,
        {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(body ? { 'content-type': body.contentType } : {}),
          ...headers,
        },
        body?.text,
      );
    } catch (err) {
      throw new ControlPlaneError(
        'CP_ERR_API_UNREACHABLE',
        `no control plane answers at ${this.baseUrl}: start one with 'bslora up'`,
        { cause: err },
      );
    }
  }
}

async function sendRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Reply> {
  const { request } = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          header: (name) => {
            const v = res.headers[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          body: Buffer.concat(chunks),
        });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The server's error document as a ControlPlaneError with the server's code (CP_ERR_API_REQUEST when unknown). */
function errorOf(res: Reply, text: string): ControlPlaneError {
  let parsed: { error?: { code?: string; message?: string; issues?: { path: string; message: string }[] } } = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the raw text below
  }
  const code = (
    parsed.error?.code && parsed.error.code in ERROR_CODES ? parsed.error.code : 'CP_ERR_API_REQUEST'
  ) as ErrorCode;
  return new ControlPlaneError(code, parsed.error?.message ?? `${res.status} ${text.slice(0, 200)}`, {
    issues: parsed.error?.issues,
  });
}
